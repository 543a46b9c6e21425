//! The connections being served, what each one is waiting for, and which one gives way when a
//! new connection arrives at the cap.
//!
//! A connection is *waiting on its peer* when it has no request in flight (it waits for a
//! request: idle keep-alive, a half-sent head, a socket that never sent a byte) or when its
//! response is blocked because the peer stopped reading. Such a connection costs the peer
//! nothing to hold, so at the cap the one that has waited on its peer the longest is closed
//! to admit the new one. A connection whose request the server is working on is never evicted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// "Not set", for the millisecond times below.
const NONE: u64 = u64::MAX;

/// The connections being served, at most `cap` at once.
pub(super) struct Conns {
    base: Instant,
    cap: usize,
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Arc<Conn>>>,
}

/// One connection's state, shared by its socket wrapper, its requests and the registry.
pub(super) struct Conn {
    base: Instant,
    /// Requests whose response body is not yet finished or dropped.
    in_flight: AtomicUsize,
    /// When the connection last became idle (no request in flight), in ms since `base`.
    idle_since: AtomicU64,
    /// When the current write started to wait for the peer to read, or [`NONE`].
    stalled_since: AtomicU64,
    /// When the response in flight must be written by, or [`NONE`].
    deadline: AtomicU64,
    /// Cancelled to close the connection.
    pub(super) evict: CancellationToken,
}

/// What [`Conns::admit`] did.
pub(super) enum Admission {
    /// Admitted; `evicted` says whether another connection was closed to make room.
    In {
        id: u64,
        conn: Arc<Conn>,
        evicted: bool,
    },
    /// Full of connections the server is working for: the new one is refused.
    Full,
}

impl Conns {
    pub(super) fn new(cap: usize) -> Self {
        debug_assert!(cap > 0);
        Conns {
            base: Instant::now(),
            cap,
            next_id: AtomicU64::new(0),
            live: Mutex::new(HashMap::with_capacity(cap)),
        }
    }

    /// Registers a new connection, closing the one that has waited on its peer the longest
    /// when the cap is reached.
    pub(super) fn admit(&self) -> Admission {
        let mut live = self.live.lock().expect("connection registry");
        let evicted = live.len() >= self.cap;
        if evicted && !evict_longest_waiting(&mut live) {
            return Admission::Full;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            base: self.base,
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(ms_since(self.base, Instant::now())),
            stalled_since: AtomicU64::new(NONE),
            deadline: AtomicU64::new(NONE),
            evict: CancellationToken::new(),
        });
        live.insert(id, conn.clone());
        debug_assert!(live.len() <= self.cap);
        Admission::In { id, conn, evicted }
    }

    /// Closes the connection that has waited on its peer the longest, if any (the process
    /// ran out of descriptors below the cap).
    pub(super) fn evict_one(&self) -> bool {
        evict_longest_waiting(&mut self.live.lock().expect("connection registry"))
    }

    /// Forgets a connection that ended.
    pub(super) fn remove(&self, id: u64) {
        self.live.lock().expect("connection registry").remove(&id);
    }
}

fn evict_longest_waiting(live: &mut HashMap<u64, Arc<Conn>>) -> bool {
    let victim = live
        .iter()
        .filter_map(|(&id, c)| Some((c.waiting_since()?, id)))
        .min();
    match victim.and_then(|(_, id)| live.remove(&id)) {
        Some(c) => {
            c.evict.cancel();
            true
        }
        None => false,
    }
}

fn ms_since(base: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(base).as_millis() as u64
}

impl Conn {
    pub(super) fn now_ms(&self) -> u64 {
        ms_since(self.base, Instant::now())
    }

    /// The instant `ms` after the registry's start.
    pub(super) fn at(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms)
    }

    /// Since when the connection has waited on its peer, or `None` while the server works
    /// for it.
    fn waiting_since(&self) -> Option<u64> {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            return Some(self.idle_since.load(Ordering::Relaxed));
        }
        Some(self.stalled_since.load(Ordering::Relaxed)).filter(|&t| t != NONE)
    }

    /// When the connection became idle, or `None` while a request is in flight.
    pub(super) fn idle_since(&self) -> Option<u64> {
        (self.in_flight.load(Ordering::Acquire) == 0)
            .then(|| self.idle_since.load(Ordering::Relaxed))
    }

    pub(super) fn deadline(&self) -> Option<u64> {
        Some(self.deadline.load(Ordering::Relaxed)).filter(|&t| t != NONE)
    }

    pub(super) fn set_stalled_since(&self, since: Option<u64>) {
        self.stalled_since
            .store(since.unwrap_or(NONE), Ordering::Relaxed);
    }

    /// A request arrived: its response must be written within `bound` (with others in
    /// flight on the same connection, the first one's bound holds).
    pub(super) fn begin(self: &Arc<Self>, bound: Duration) -> InFlight {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            let deadline = self.now_ms() + bound.as_millis() as u64;
            self.deadline.store(deadline, Ordering::Relaxed);
        }
        InFlight(self.clone())
    }
}

/// A request in flight, until its response body is finished or dropped.
pub(super) struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let c = &self.0;
        if c.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            c.deadline.store(NONE, Ordering::Relaxed);
            c.idle_since.store(c.now_ms(), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(a: Admission) -> (u64, Arc<Conn>, bool) {
        match a {
            Admission::In { id, conn, evicted } => (id, conn, evicted),
            Admission::Full => panic!("refused"),
        }
    }

    /// Lets the millisecond clock move on.
    fn later() {
        std::thread::sleep(Duration::from_millis(3));
    }

    #[test]
    fn at_the_cap_the_longest_waiting_gives_way_and_busy_ones_never_do() {
        let conns = Conns::new(3);
        let (_, busy, _) = admitted(conns.admit());
        let _request = busy.begin(Duration::from_secs(60));
        later();
        let (_, idle, _) = admitted(conns.admit());
        later();
        let (_, newer, _) = admitted(conns.admit());
        // Full: the idle one (waiting the longest; the busy one is older but worked for) goes.
        let (_, fresh, evicted) = admitted(conns.admit());
        assert!(evicted);
        assert!(idle.evict.is_cancelled());
        assert!(!busy.evict.is_cancelled() && !newer.evict.is_cancelled());
        // A busy connection whose peer stopped reading is waiting on its peer too.
        let _r2 = newer.begin(Duration::from_secs(60));
        let _r3 = fresh.begin(Duration::from_secs(60));
        assert!(matches!(conns.admit(), Admission::Full));
        newer.set_stalled_since(Some(newer.now_ms()));
        let _ = admitted(conns.admit());
        assert!(newer.evict.is_cancelled());
        assert!(!busy.evict.is_cancelled() && !fresh.evict.is_cancelled());
    }

    #[test]
    fn a_response_deadline_lasts_while_a_request_is_in_flight() {
        let conns = Conns::new(1);
        let (_, c, _) = admitted(conns.admit());
        let born = c.idle_since().unwrap();
        assert_eq!(c.deadline(), None);
        let request = c.begin(Duration::from_secs(60));
        let deadline = c.deadline().unwrap();
        assert!(
            (born + 60_000..born + 61_000).contains(&deadline),
            "{deadline}"
        );
        assert_eq!(c.idle_since(), None);
        later();
        drop(request);
        assert_eq!(c.deadline(), None);
        assert!(c.idle_since().unwrap() > born);
    }
}
