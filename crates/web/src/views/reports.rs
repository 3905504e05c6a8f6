//! The manager's reports, as pages (with SVG charts) and as CSV.
