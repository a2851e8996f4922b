"""The pages' shell, shared by every domain's pages: the cookie session and CSRF, the layout and its
templates, the pages' own words in Chinese and English, charts, and the scripts and styles."""
