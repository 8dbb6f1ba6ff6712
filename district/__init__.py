"""The district server (区): a replica of each hall's own tables, fed by the events its halls ship (issue 19), the
district admins' login and the screens that put the halls side by side (district/screens.py)."""
