//! Reports for the business manager: inventory, encryption compliance, overdue loans,
//! audits, incident costs, utilisation, a person's history.

use crate::db::Store;

impl Store {}
