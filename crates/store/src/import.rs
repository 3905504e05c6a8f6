//! Writing an import: every row in one transaction, or none.

use crate::db::Store;

impl Store {}
