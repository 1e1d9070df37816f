"""Staff pages of the compliance figures: league table, scorecards, trends, drill-down, report."""
