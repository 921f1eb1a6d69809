"""The station's encrypted store.

Importing any module of this package first registers SQLCipher as ``pysqlite3`` (see
:mod:`fieldkit.store.connection`), so sqlite-utils is always bound to SQLCipher's module,
whatever module of the package is imported first.
"""

from fieldkit.store import connection as _connection  # noqa: F401  (must come first)
