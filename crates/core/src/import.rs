//! Importing the school's existing spreadsheets: column mapping, and checking every
//! row of a file before anything is written.
