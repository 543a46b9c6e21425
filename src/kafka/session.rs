//! What both stages' sessions share: backoff between sessions, a sleep that ends on
//! cancellation, and bounded dropping of rdkafka clients.

use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::error;

/// Exponential backoff between session restarts.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff { next: first, max }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
}

pub fn cancel_aware_sleep(cancel: &CancellationToken, d: Duration) {
    let end = Instant::now() + d;
    while !cancel.is_cancelled() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Drops rdkafka clients on a helper thread and waits a bounded time: librdkafka can hang in
/// `close` (rust-rdkafka #453, #509, #611), and a hung session must not stop the next one.
pub fn drop_bounded(what: &'static str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("chiso-drop".into())
        .spawn(move || {
            f();
            let _ = tx.send(());
        });
    if spawned.is_ok() && rx.recv_timeout(Duration::from_secs(30)).is_err() {
        error!(
            what,
            "closing Kafka clients takes over 30 s; leaving them behind"
        );
    }
}
