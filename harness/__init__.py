"""Development harness: throwaway MariaDB servers, the demo site, PHP read-back.

Used by the tests, `make demo` and the benchmarks. Not part of the sitepack
distribution; it lives beside it in the source tree.
"""
