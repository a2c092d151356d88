"""One date format everywhere (issue 17): "7 Apr 2026", with the time where it matters ("7 Apr 2026
14:05"). Django's British formats, with the short ones (used by tables and forms' display) made the
same as the long ones instead of "07/04/2026"."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
FIRST_DAY_OF_WEEK = 1
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d %b %Y", "%d %B %Y"]
