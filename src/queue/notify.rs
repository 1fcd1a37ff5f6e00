//! Per-concert change signals that wake Server-Sent Event streams without polling.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Default)]
pub struct Notifier {
    senders: Mutex<HashMap<Uuid, watch::Sender<u64>>>,
}

impl Notifier {
    pub fn subscribe(&self, concert_id: Uuid) -> watch::Receiver<u64> {
        self.senders
            .lock()
            .entry(concert_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Wakes the concert's subscribers, if it has any.
    pub fn bump(&self, concert_id: Uuid) {
        if let Some(tx) = self.senders.lock().get(&concert_id) {
            tx.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
}
