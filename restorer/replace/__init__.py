"""Moving a site's URLs and paths inside its database: the plan, the values, the table walk."""
