//! An in-memory lease table with DynamoDB's conditional semantics.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::store::{Change, Lease, LeaseError, LeaseStore};

#[derive(Default)]
pub struct FakeLeases {
    pub items: Mutex<BTreeMap<String, Lease>>,
}

impl LeaseStore for FakeLeases {
    async fn ensure_table(&self) -> Result<(), LeaseError> {
        Ok(())
    }

    async fn scan(&self) -> Result<Vec<Lease>, LeaseError> {
        Ok(self.items.lock().unwrap().values().cloned().collect())
    }

    async fn create(&self, key: &str, parents: &[String]) -> Result<(), LeaseError> {
        self.items.lock().unwrap().entry(key.to_string()).or_insert_with(|| Lease {
            key: key.to_string(),
            owner: None,
            counter: 0,
            parents: parents.to_vec(),
            finished: false,
        });
        Ok(())
    }

    async fn update(&self, key: &str, counter: u64, change: &Change) -> Result<Option<Lease>, LeaseError> {
        let mut items = self.items.lock().unwrap();
        let Some(l) = items.get_mut(key).filter(|l| l.counter == counter) else {
            return Ok(None);
        };
        l.counter += 1;
        match change {
            Change::Own(o) => l.owner = Some(o.clone()),
            Change::Release => l.owner = None,
            Change::Finish => {
                l.owner = None;
                l.finished = true;
            }
        }
        Ok(Some(l.clone()))
    }
}
