"""aidcal's engine: a library of services over the store.

Every public function takes the database connection and `as_of` (a date in
Asia/Shanghai) where the answer depends on the day, returns plain data and
never prints; the CLI and the daemon are thin shells over it.
"""
