"""``sitepack drill``: a backup restored into a throwaway folder and database, then checked."""
