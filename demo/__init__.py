"""A realistic demo referral unit, loaded by ``python manage.py load_demo``."""
