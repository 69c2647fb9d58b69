"""The administration of the centre: users, units, categories, keys, and the audit of every admin action."""
