"""Transfers: a household moving to another station, or living away from where it is registered (人户分离),
requested by the sending side and accepted or refused by the receiving side."""
