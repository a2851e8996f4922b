"""Every table of the service, gathered from the domains' packages: the metadata migrations and tests
compare with the database."""

from api.assessments import tables as _assessments  # noqa: F401
from api.audit import tables as _audit  # noqa: F401
from api.auth import tables as _auth  # noqa: F401
from api.configs import tables as _configs  # noqa: F401
from api.discovery import tables as _discovery  # noqa: F401
from api.db.base import Base
from api.geography import tables as _geography  # noqa: F401
from api.households import tables as _households  # noqa: F401
from api.intake import tables as _intake  # noqa: F401
from api.rankings import tables as _rankings  # noqa: F401
from api.referrals import tables as _referrals  # noqa: F401
from api.reviews import tables as _reviews  # noqa: F401
from api.transfers import tables as _transfers  # noqa: F401

metadata = Base.metadata
