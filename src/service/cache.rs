//! The verdict cache and single flight.
//!
//! Verdicts are cached per (configuration generation, namespace whose own policy applied,
//! scope, digest): a reload bumps the generation, so a verdict reached under an older policy,
//! trust store or revocation set is never served again. Entries expire after the TTL and the
//! oldest are evicted beyond the entry bound. Only verdicts are cached (accepted, skipped,
//! rejected), never errors: a registry that was down a second ago is asked again.
//!
//! Concurrent requests for the same key wait on one verification: the first caller runs it,
//! the others receive its result.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// What a verdict is cached under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    /// Configuration generation.
    pub generation: u64,
    /// The namespace, when a namespace-specific policy applied.
    pub namespace: Option<String>,
    /// `registry/repository` the policy was matched against.
    pub scope: String,
    /// The verified digest.
    pub digest: String,
}

struct Entry<V> {
    value: Arc<V>,
    inserted: Instant,
    ttl: Duration,
    seq: u64,
}

struct Inner<V> {
    map: HashMap<CacheKey, Entry<V>>,
    /// Insertion order, for eviction: (key, sequence number of that insertion).
    order: VecDeque<(CacheKey, u64)>,
    next_seq: u64,
}

/// A bounded cache with a TTL.
pub(crate) struct VerdictCache<V> {
    inner: Mutex<Inner<V>>,
    max_entries: usize,
    ttl: Duration,
}

impl<V> VerdictCache<V> {
    /// At most `max_entries` verdicts (0 disables caching), each kept for `ttl`.
    pub fn new(max_entries: usize, ttl: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
                next_seq: 0,
            }),
            max_entries,
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        // A panic while holding the lock cannot leave the map inconsistent in a way that
        // matters (worst case a stale order entry), so a poisoned lock is used as is.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The verdict for `key`, if cached and not expired.
    pub fn get(&self, key: &CacheKey, now: Instant) -> Option<Arc<V>> {
        let mut inner = self.lock();
        let fresh = inner
            .map
            .get(key)
            .map(|e| now.saturating_duration_since(e.inserted) < e.ttl)?;
        if fresh {
            inner.map.get(key).map(|e| Arc::clone(&e.value))
        } else {
            inner.map.remove(key);
            None
        }
    }

    /// Stores a verdict for the cache's TTL.
    #[cfg(test)]
    pub fn insert(&self, key: CacheKey, value: Arc<V>, now: Instant) {
        self.insert_for(key, value, now, self.ttl);
    }

    /// Stores a verdict for `ttl` (at most the cache's TTL).
    pub fn insert_for(&self, key: CacheKey, value: Arc<V>, now: Instant, ttl: Duration) {
        let ttl = ttl.min(self.ttl);
        if self.max_entries == 0 || ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.push_back((key.clone(), seq));
        inner.map.insert(
            key,
            Entry {
                value,
                inserted: now,
                ttl,
                seq,
            },
        );
        // Evict the oldest insertions beyond the bound; skip order records superseded by a
        // later insertion of the same key.
        while inner.map.len() > self.max_entries {
            let Some((old, old_seq)) = inner.order.pop_front() else {
                break;
            };
            if inner.map.get(&old).is_some_and(|e| e.seq == old_seq) {
                inner.map.remove(&old);
            }
        }
        // Keep the order queue from growing without bound when keys are re-inserted.
        if inner.order.len() > 2 * self.max_entries.max(16) {
            let Inner { map, order, .. } = &mut *inner;
            order.retain(|(k, s)| map.get(k).is_some_and(|e| e.seq == *s));
        }
    }

    /// Entries held (expired ones included until they are looked up or evicted).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry of generations other than `generation` (after a reload).
    pub fn retain_generation(&self, generation: u64) {
        let mut inner = self.lock();
        inner.map.retain(|k, _| k.generation == generation);
        let Inner { map, order, .. } = &mut *inner;
        order.retain(|(k, s)| map.get(k).is_some_and(|e| e.seq == *s));
    }
}

/// Runs one computation per key at a time; concurrent callers with the same key share it.
///
/// The computation runs in its own task, so a caller that goes away (a client that
/// disconnects, a gRPC deadline) neither cancels it for the others nor leaves its key behind:
/// the key is removed when the computation ends, however it ends.
pub(crate) struct SingleFlight<K, V> {
    inflight: Arc<Mutex<HashMap<K, watch::Receiver<Option<V>>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            inflight: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// Removes a key from the in-flight map when dropped (after the result is published, or
/// when the computation panics).
struct RemoveOnDrop<K: Eq + Hash, V> {
    map: Arc<Mutex<HashMap<K, watch::Receiver<Option<V>>>>>,
    key: Option<K>,
}

impl<K: Eq + Hash, V> Drop for RemoveOnDrop<K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        }
    }
}

impl<K, V> SingleFlight<K, V>
where
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Runs `work` for `key` unless a run for it is in flight, in which case its result is
    /// awaited instead. Returns the result (`None` if the computation panicked) and whether
    /// this caller started it.
    pub async fn run<Fut>(&self, key: K, work: Fut) -> (Option<V>, bool)
    where
        Fut: Future<Output = V> + Send + 'static,
    {
        let (mut rx, started) = {
            let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&key) {
                Some(rx) => (rx.clone(), false),
                None => {
                    let (tx, rx) = watch::channel(None);
                    map.insert(key.clone(), rx.clone());
                    let guard = RemoveOnDrop {
                        map: Arc::clone(&self.inflight),
                        key: Some(key),
                    };
                    tokio::spawn(async move {
                        let guard = guard;
                        let value = work.await;
                        let _ = tx.send(Some(value));
                        drop(guard);
                    });
                    (rx, true)
                }
            }
        };
        let value = rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|v| v.clone());
        (value, started)
    }

    /// Runs in flight.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.inflight.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(d: &str, generation: u64) -> CacheKey {
        CacheKey {
            generation,
            namespace: None,
            scope: "r/x".into(),
            digest: d.into(),
        }
    }

    #[test]
    fn ttl_bound_and_generations() {
        let c = VerdictCache::new(2, Duration::from_secs(10));
        let t0 = crate::clock::monotonic();
        c.insert(key("a", 1), Arc::new(1), t0);
        c.insert(key("b", 1), Arc::new(2), t0);
        assert_eq!(c.get(&key("a", 1), t0).as_deref(), Some(&1));
        c.insert(key("c", 1), Arc::new(3), t0);
        assert_eq!(c.len(), 2);
        assert!(c.get(&key("a", 1), t0).is_none(), "oldest evicted");
        assert!(c.get(&key("b", 2), t0).is_none(), "other generation");
        assert!(
            c.get(&key("c", 1), t0 + Duration::from_secs(11)).is_none(),
            "expired"
        );
        c.retain_generation(2);
        assert!(c.is_empty());
        // Re-inserting one key many times keeps the order queue bounded.
        for i in 0..1000 {
            c.insert(key("z", 1), Arc::new(i), t0);
        }
        assert!(c.lock().order.len() <= 32);
        let off = VerdictCache::new(0, Duration::from_secs(10));
        off.insert(key("a", 1), Arc::new(1), t0);
        assert!(off.is_empty());
    }

    #[tokio::test]
    async fn single_flight_runs_once() {
        let sf: Arc<SingleFlight<u32, u32>> = Arc::new(SingleFlight::default());
        let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let sf = Arc::clone(&sf);
            let runs = Arc::clone(&runs);
            tasks.push(tokio::spawn(async move {
                sf.run(7, async move {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    42
                })
                .await
                .0
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Some(42));
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(sf.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_caller_neither_stops_the_work_nor_leaks_its_key() {
        let sf: Arc<SingleFlight<u32, u32>> = Arc::new(SingleFlight::default());
        let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
        for key in 0..100 {
            let runs = Arc::clone(&runs);
            let first = sf.run(key, async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                key
            });
            // The caller gives up at once.
            let _ = tokio::time::timeout(Duration::from_millis(1), first).await;
        }
        // A waiter that arrives while a cancelled caller's run goes on gets that run's result,
        // not a second run.
        let first = sf.run(500, async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            500
        });
        let _ = tokio::time::timeout(Duration::from_millis(1), first).await;
        let waited = sf.run(500, async { 999 }).await;
        assert_eq!(waited, (Some(500), false));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 100);
        assert_eq!(sf.in_flight(), 0);
        // A panicking computation gives None and frees its key.
        let r = sf.run(1000, async { panic!("boom") }).await;
        assert_eq!(r, (None, true));
        assert_eq!(sf.in_flight(), 0);
    }
}
