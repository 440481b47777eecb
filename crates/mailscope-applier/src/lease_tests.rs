//! The lease's rules against a fake store (a map of one group, with
//! scripted failures), with real time in milliseconds.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use super::*;

/// One lease group at most, like the name uniqueness of Exchange.
#[derive(Default)]
struct FakeStore {
    group: Mutex<Option<LeaseObject>>,
    next_id: AtomicU32,
    /// Calls of any kind that fail with `Other` before the next succeeds.
    fail_next: AtomicU32,
    /// The next create happens but answers `Exists` (a lost reply).
    lose_create_reply: Mutex<bool>,
}

impl FakeStore {
    fn holding(record: &LeaseRecord) -> Self {
        let s = FakeStore::default();
        *s.group.lock().unwrap() = Some(LeaseObject {
            id: "old".into(),
            display_name: "mailscope lease old".into(),
            record: Some(record.to_text()),
        });
        s
    }

    fn fail(&self) -> Result<(), StoreError> {
        let left = self.fail_next.load(Ordering::SeqCst);
        if left > 0 {
            self.fail_next.store(left - 1, Ordering::SeqCst);
            return Err(StoreError::Other("503 Service Unavailable".into()));
        }
        Ok(())
    }

    fn record(&self) -> Option<LeaseRecord> {
        self.group.lock().unwrap().as_ref().and_then(|g| g.record.as_deref().and_then(LeaseRecord::parse))
    }
}

impl LeaseStore for FakeStore {
    async fn create(&self, _name: &str, display_name: &str) -> Result<String, StoreError> {
        self.fail()?;
        let mut g = self.group.lock().unwrap();
        if g.is_some() {
            return Err(StoreError::Exists);
        }
        let id = format!("id-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        *g = Some(LeaseObject { id: id.clone(), display_name: display_name.into(), record: None });
        let mut lose = self.lose_create_reply.lock().unwrap();
        if *lose {
            *lose = false;
            return Err(StoreError::Exists);
        }
        Ok(id)
    }

    async fn read(&self, _name: &str) -> Result<Option<LeaseObject>, StoreError> {
        self.fail()?;
        Ok(self.group.lock().unwrap().clone())
    }

    async fn write(&self, id: &str, record: &str) -> Result<(), StoreError> {
        self.fail()?;
        match self.group.lock().unwrap().as_mut() {
            Some(g) if g.id == id => {
                g.record = Some(record.into());
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.fail()?;
        let mut g = self.group.lock().unwrap();
        if g.as_ref().is_some_and(|g| g.id == id) {
            *g = None;
        }
        Ok(())
    }
}

fn holder(run: &str, pid: u32, machine: Option<&str>) -> Holder {
    Holder { run_id: run.into(), host: "ci-1".into(), pid, machine: machine.map(Into::into) }
}

fn options(wait_ms: u64) -> LeaseOptions {
    LeaseOptions {
        name: LEASE_GROUP.into(),
        ttl: Duration::from_secs(600),
        wait: Duration::from_millis(wait_ms),
        poll: Duration::from_millis(10),
    }
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn all_alive(_: u32) -> bool {
    true
}

fn none_alive(_: u32) -> bool {
    false
}

async fn take(store: &FakeStore, opts: &LeaseOptions, me: &Holder) -> Result<Lease, LeaseError> {
    acquire(store, opts, me, &now, &all_alive).await
}

#[tokio::test]
async fn a_free_lease_is_taken_and_a_second_run_is_refused_with_the_holders_name() {
    let store = FakeStore::default();
    let a = holder("run-a", 10, Some("m1"));
    let lease = take(&store, &options(0), &a).await.unwrap();
    assert_eq!(store.record().unwrap().holder, a);
    assert!(lease.broke().is_none());

    let err = take(&store, &options(0), &holder("run-b", 11, Some("m1"))).await.unwrap_err();
    let LeaseError::Held { holder: Some(h), expires: Some(_), .. } = &err else { panic!("{err:?}") };
    assert_eq!(h, &a);
    let text = err.to_string();
    assert!(text.contains("run run-a (host ci-1, pid 10) holds the lease until 20"), "{text}");
    assert!(text.contains("--lock-timeout"), "{text}");

    lease.release(&store).await.unwrap();
    assert!(store.group.lock().unwrap().is_none());
}

#[tokio::test]
async fn a_waiting_run_takes_the_lease_once_the_holder_releases_it() {
    let store = FakeStore::default();
    let lease = take(&store, &options(0), &holder("run-a", 10, None)).await.unwrap();
    let b = holder("run-b", 11, None);
    let wait = options(2_000);
    let (taken, ()) = tokio::join!(take(&store, &wait, &b), async {
        tokio::time::sleep(Duration::from_millis(60)).await;
        lease.release(&store).await.unwrap();
    });
    taken.unwrap();
    assert_eq!(store.record().unwrap().holder, b);
}

#[tokio::test]
async fn the_wait_ends_at_the_lock_timeout() {
    let store = FakeStore::default();
    let _lease = take(&store, &options(0), &holder("run-a", 10, None)).await.unwrap();
    let err = take(&store, &options(80), &holder("run-b", 11, None)).await.unwrap_err();
    let LeaseError::Held { waited, .. } = err else { panic!("{err:?}") };
    assert!(waited >= Duration::from_millis(80), "{waited:?}");
}

#[tokio::test]
async fn an_expired_lease_is_broken_and_the_breaker_names_the_old_holder() {
    let old =
        LeaseRecord { holder: holder("run-old", 10, Some("m2")), expires: now() - Duration::from_secs(1) };
    let store = FakeStore::holding(&old);
    let lease = take(&store, &options(0), &holder("run-b", 11, Some("m1"))).await.unwrap();
    assert_eq!(lease.broke(), Some(&old.holder));
    assert_eq!(store.record().unwrap().holder.run_id, "run-b");
}

#[tokio::test]
async fn a_dead_holder_of_this_machine_is_broken_but_not_one_of_another_machine() {
    let live =
        LeaseRecord { holder: holder("run-old", 10, Some("m1")), expires: now() + Duration::from_secs(600) };
    let me = holder("run-b", 11, Some("m1"));
    // Same machine, process gone: broken at once.
    let store = FakeStore::holding(&live);
    let lease = acquire(&store, &options(0), &me, &now, &none_alive).await.unwrap();
    assert_eq!(lease.broke().unwrap().run_id, "run-old");
    // Same machine, process running: held.
    let store = FakeStore::holding(&live);
    assert!(matches!(
        acquire(&store, &options(0), &me, &now, &all_alive).await,
        Err(LeaseError::Held { .. })
    ));
    // Another machine (or none known): a pid means nothing here, held.
    for machine in [Some("m2"), None] {
        let store = FakeStore::holding(&live);
        let other = Holder { machine: machine.map(Into::into), ..me.clone() };
        assert!(matches!(
            acquire(&store, &options(0), &other, &now, &none_alive).await,
            Err(LeaseError::Held { .. })
        ));
    }
}

#[tokio::test]
async fn an_unreadable_record_holds_for_one_time_to_live_then_is_broken() {
    let store = FakeStore::default();
    *store.group.lock().unwrap() = Some(LeaseObject {
        id: "x".into(),
        display_name: "hand made".into(),
        record: Some("garbage pid=1".into()),
    });
    let me = holder("run-b", 11, None);
    let err = take(&store, &options(0), &me).await.unwrap_err();
    assert!(matches!(err, LeaseError::Held { holder: None, expires: None, .. }), "{err:?}");
    assert!(err.to_string().contains("its lease record is not readable"), "{err}");
    let short = LeaseOptions { ttl: Duration::from_millis(50), wait: Duration::from_secs(2), ..options(0) };
    let lease = take(&store, &short, &me).await.unwrap();
    assert!(lease.broke().is_none());
    assert_eq!(store.record().unwrap().holder.run_id, "run-b");
}

#[tokio::test]
async fn a_taker_killed_before_its_record_is_known_by_its_display_name() {
    // Created, never written: the display name still names the holder.
    let dead = holder("run-old", 10, Some("m1"));
    let make = || {
        let store = FakeStore::default();
        *store.group.lock().unwrap() =
            Some(LeaseObject { id: "x".into(), display_name: dead.display_name(), record: None });
        store
    };
    let me = holder("run-b", 11, Some("m1"));
    // Its process is gone on this machine: broken at once.
    let store = make();
    let lease = acquire(&store, &options(0), &me, &now, &none_alive).await.unwrap();
    assert_eq!(lease.broke(), Some(&dead));
    // Alive: held, and the refusal names it.
    let store = make();
    let err = acquire(&store, &options(0), &me, &now, &all_alive).await.unwrap_err();
    assert!(err.to_string().contains("run run-old (host ci-1, pid 10), which has not written"), "{err}");
}

#[tokio::test]
async fn a_create_whose_reply_was_lost_is_recognised_by_its_display_name() {
    let store = FakeStore::default();
    *store.lose_create_reply.lock().unwrap() = true;
    take(&store, &options(0), &holder("run-a", 10, None)).await.unwrap();
    assert_eq!(store.record().unwrap().holder.run_id, "run-a");
    assert_eq!(store.next_id.load(Ordering::SeqCst), 1, "created once");
}

#[tokio::test]
async fn transient_failures_of_the_store_are_retried() {
    let store = FakeStore::default();
    store.fail_next.store(2, Ordering::SeqCst);
    let lease = take(&store, &options(0), &holder("run-a", 10, None)).await.unwrap();
    store.fail_next.store(2, Ordering::SeqCst);
    lease.release(&store).await.unwrap();
    assert!(store.group.lock().unwrap().is_none());
    // A store that keeps failing ends the take with its error.
    store.fail_next.store(100, Ordering::SeqCst);
    let err = take(&store, &options(0), &holder("run-b", 11, None)).await.unwrap_err();
    assert!(matches!(err, LeaseError::Store { action: "taken", .. }), "{err:?}");
}

#[tokio::test]
async fn two_breakers_of_one_expired_lease_leave_one_holder() {
    let old = LeaseRecord { holder: holder("run-old", 10, None), expires: now() - Duration::from_secs(1) };
    let store = FakeStore::holding(&old);
    let (opts, run_a, run_b) = (options(0), holder("run-a", 11, None), holder("run-b", 12, None));
    let (a, b) = tokio::join!(take(&store, &opts, &run_a), take(&store, &opts, &run_b));
    // Removal is by object id, so the slower breaker cannot remove the
    // faster one's new lease: it finds it held instead.
    assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1, "{a:?} {b:?}");
    let winner = store.record().unwrap().holder.run_id;
    assert_eq!(winner, if a.is_ok() { "run-a" } else { "run-b" });
}

#[tokio::test]
async fn a_broken_lease_is_lost_at_renewal_and_stops_the_run() {
    let store = FakeStore::default();
    let mut lease = take(&store, &options(0), &holder("run-a", 10, None)).await.unwrap();
    lease.renew(&store, now()).await.unwrap();
    // Someone breaks it (removes the group) and takes it.
    *store.group.lock().unwrap() = None;
    take(&store, &options(0), &holder("run-b", 11, None)).await.unwrap();
    assert_eq!(lease.renew(&store, now()).await, Err(LeaseError::Lost));

    let store = FakeStore::default();
    let short = LeaseOptions { ttl: Duration::from_millis(60), ..options(0) };
    let lease = take(&store, &short, &holder("run-a", 10, None)).await.unwrap();
    let cancel = CancelToken::new();
    let work = async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        *store.group.lock().unwrap() = None;
        cancel.cancelled().await;
        "stopped"
    };
    let (out, problem) = hold_while(lease, &store, &cancel, work).await;
    assert_eq!(out, "stopped");
    assert_eq!(problem, Some(LeaseError::Lost));
}

#[tokio::test]
async fn hold_while_renews_then_releases() {
    let store = FakeStore::default();
    let short = LeaseOptions { ttl: Duration::from_millis(60), ..options(0) };
    let lease = take(&store, &short, &holder("run-a", 10, None)).await.unwrap();
    let first = store.record().unwrap().expires;
    let cancel = CancelToken::new();
    let ((), problem) = hold_while(lease, &store, &cancel, async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(store.record().unwrap().expires > first, "renewed while working");
    })
    .await;
    assert_eq!(problem, None);
    assert!(!cancel.is_cancelled());
    assert!(store.group.lock().unwrap().is_none(), "released");
}

#[test]
fn records_round_trip_and_hostile_records_are_unreadable() {
    let r = LeaseRecord {
        holder: Holder {
            run_id: "r 1".into(),
            host: "h=x".into(),
            pid: 7,
            machine: Some("b/pid:[1]".into()),
        },
        expires: UNIX_EPOCH + Duration::from_millis(1_800_000_000_123),
    };
    let text = r.to_text();
    assert_eq!(text, "mailscope/v1 lease run=r_1 host=h_x pid=7 machine=b/pid:[1] expires=1800000000123");
    assert_eq!(r.holder.display_name(), "mailscope lease run=r_1 host=h_x pid=7 machine=b/pid:[1]");
    assert_eq!(Holder::from_display_name(&r.holder.display_name()).unwrap().pid, 7);
    assert_eq!(Holder::from_display_name("Sales team"), None);
    let back = LeaseRecord::parse(&text).unwrap();
    assert_eq!(back.holder.pid, 7);
    assert_eq!(back.expires, r.expires);
    for bad in [
        "",
        "mailscope/v1 lease run=a host=b pid=x expires=1",
        "mailscope/v1 lease run=a host=b pid=1",
        "mailscope/v1 lease run=a host=b pid=1 expires=18446744073709551615",
        "mailscope/v1 lease run=a host=b pid=1 expires=1 junk",
        "other run=a host=b pid=1 expires=1",
    ] {
        assert_eq!(LeaseRecord::parse(bad), None, "{bad}");
    }
}
