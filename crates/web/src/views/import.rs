//! Importing CSV files: upload, map columns, preview every problem, confirm.
