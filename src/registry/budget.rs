//! The daemon-wide budget of registry body bytes in memory (issue 15).
//!
//! Every body the client reads takes its size from one [`BodyBudget`] before its first byte
//! is read: its `Content-Length` when the registry sends one (a blob's descriptor `size` is its
//! cap, so a blob never takes more), or [`FIRST_SHARE`] when the length is unknown (chunked)
//! and, once the body outgrows that, the rest of its cap in one step. While it streams in it
//! also takes what the HTTP client's read buffer may grow to for it ([`READ_BUFFER_SHARE`],
//! or the body's length when that is less). What the body does not hold once it is read is
//! given back at once; the rest stays taken for as long as the bytes are held (the
//! [`BodyHold`] travels with them) and is given back when they are dropped. So the registry
//! bodies held in memory and the read buffers streaming them, daemon-wide, never exceed the
//! budget, whatever the number of verifications running.
//!
//! A body that must grow and finds no room at once gives back all but the bytes it has read
//! while it waits (so bodies never wait for one another while each holds part of the budget).
//! A body that finds no room waits at most [`BUDGET_WAIT`], then fails with
//! [`RegistryError::BodyBudget`], which names the budget and its configuration key: an error
//! like an unreachable registry (never "no signature", never a cached verdict). A body larger
//! than the whole budget fails at once. `notaryd verify` decides through the same use case
//! with the default budget, which one verification never fills (it holds at most its
//! manifests and one envelope, about 45 MiB at the caps). A client made without one
//! ([`super::client::RegistryClient::new`] alone, as `bundle create` does) reads bounded by
//! its caps alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::RegistryError;

/// The default budget: 64 MiB, twice the largest single body (an envelope at
/// `Limits::max_envelope_bytes`, 32 MiB), and room for 16 manifests at their 4 MiB cap.
pub const DEFAULT_BODY_BUDGET_BYTES: u64 = 64 * 1024 * 1024;

/// The largest budget that can be configured (one share is taken with a `u32` count).
pub const MAX_BODY_BUDGET_BYTES: u64 = u32::MAX as u64;

/// How long a body waits for room in the budget before its request fails.
pub const BUDGET_WAIT: Duration = Duration::from_secs(5);

/// What a body of unknown length takes before its first byte: most registry answers (a
/// manifest, a referrers page of a few entries, a token, an error document) fit in it.
pub const FIRST_SHARE: u64 = 64 * 1024;

/// What the HTTP client's read buffer may grow to while one body streams in: hyper's HTTP/1
/// read buffer grows with the reads that fill it up to its default cap of 8 KiB + 400 KiB
/// (`DEFAULT_MAX_BUFFER_SIZE`; reqwest does not let it be changed). Measured: 256 hostile
/// chunked bodies at once held about 100 MiB in these buffers on top of the bodies.
pub const READ_BUFFER_SHARE: u64 = 8192 + 4096 * 100;

/// The smallest budget that can be configured: the largest body the caps allow (an envelope at
/// `Limits::max_envelope_bytes`) with its read buffer's share, so that every such body can be
/// read (33,972,224 bytes with the default limits).
pub fn min_body_budget() -> u64 {
    let limits = crate::verify::limits::Limits::default();
    limits.max_envelope_bytes.max(limits.max_manifest_bytes) + READ_BUFFER_SHARE
}

/// The configuration key the budget comes from, named in its errors.
pub const BUDGET_KEY: &str = "registry.max_body_bytes_in_flight";

/// The budget. One per daemon, shared by every verification's client.
#[derive(Debug)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total: u64,
    wait: Duration,
    /// Bytes taken since start (never given back): how much was read, for the trim after a
    /// burst.
    taken: AtomicU64,
}

impl BodyBudget {
    /// A budget of `total` bytes (at most [`MAX_BODY_BUDGET_BYTES`]), waited for at most
    /// [`BUDGET_WAIT`].
    pub fn new(total: u64) -> Self {
        Self::with_wait(total, BUDGET_WAIT)
    }

    /// A budget whose bodies wait at most `wait` for room.
    pub fn with_wait(total: u64, wait: Duration) -> Self {
        let total = total.min(MAX_BODY_BUDGET_BYTES);
        Self {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
            wait,
            taken: AtomicU64::new(0),
        }
    }

    /// The whole budget, in bytes.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes not taken now.
    pub fn available(&self) -> u64 {
        self.permits.available_permits() as u64
    }

    /// Bytes taken since the budget was made (a running total, never decreased).
    pub fn bytes_taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes for the body of `url`, waiting at most the budget's wait.
    async fn take(&self, n: u64, url: &str) -> Result<OwnedSemaphorePermit, RegistryError> {
        let refused = |waited| RegistryError::BodyBudget {
            url: url.to_owned(),
            wanted: n,
            budget: self.total,
            waited,
        };
        if n > self.total {
            return Err(refused(Duration::ZERO));
        }
        let count = u32::try_from(n).map_err(|_| refused(Duration::ZERO))?;
        match tokio::time::timeout(
            self.wait,
            Arc::clone(&self.permits).acquire_many_owned(count),
        )
        .await
        {
            Ok(Ok(permit)) => {
                self.taken.fetch_add(n, Ordering::Relaxed);
                Ok(permit)
            }
            // The semaphore is never closed; a closed one would be a refusal all the same.
            Ok(Err(_)) | Err(_) => Err(refused(self.wait)),
        }
    }

    /// Takes `n` bytes if they are free now.
    fn try_take(&self, n: u64) -> Option<OwnedSemaphorePermit> {
        let count = u32::try_from(n).ok()?;
        let permit = Arc::clone(&self.permits)
            .try_acquire_many_owned(count)
            .ok()?;
        self.taken.fetch_add(n, Ordering::Relaxed);
        Some(permit)
    }
}

/// The share of the budget held by the bytes of one body; given back when the last clone is
/// dropped. Empty when the body was read without a budget.
#[derive(Clone, Debug, Default)]
pub struct BodyHold(Option<Arc<OwnedSemaphorePermit>>);

impl BodyHold {
    /// Bytes of the budget held.
    pub fn bytes(&self) -> u64 {
        self.0.as_ref().map_or(0, |p| p.num_permits() as u64)
    }
}

/// The share of a body being read.
pub(crate) struct Share<'a> {
    budget: Option<&'a BodyBudget>,
    /// The body's bytes and, until [`Share::keep`], its read buffer's.
    permit: Option<OwnedSemaphorePermit>,
    /// Bytes the body may grow to without taking more (its cap when there is no budget).
    held: u64,
    /// The read buffer's share (0 without a budget).
    buffer: u64,
    /// Whether `permit` holds the read buffer's share now.
    buffer_held: bool,
}

impl<'a> Share<'a> {
    /// Takes `n` bytes of `budget` for a body of at most `cap` bytes, and its read buffer's
    /// share (or nothing, with no budget: the body may then grow to `cap`).
    pub(crate) async fn take(
        budget: Option<&'a BodyBudget>,
        n: u64,
        cap: u64,
        url: &str,
    ) -> Result<Self, RegistryError> {
        match budget {
            None => Ok(Self {
                budget,
                permit: None,
                held: cap,
                buffer: 0,
                buffer_held: false,
            }),
            Some(b) => {
                // A body of at most `cap` bytes never makes the buffer grow past that (plus
                // its first 8 KiB, which every connection has anyway).
                let buffer = READ_BUFFER_SHARE.min(cap);
                Ok(Self {
                    budget,
                    permit: Some(b.take(n + buffer, url).await?),
                    held: n,
                    buffer,
                    buffer_held: true,
                })
            }
        }
    }

    /// Bytes the body may hold now.
    pub(crate) fn held(&self) -> u64 {
        self.held
    }

    /// Takes what is missing for the body to grow to `to` bytes; `in_use` of those it holds
    /// are in memory now. When there is no room at once, it waits holding only those: bodies
    /// that each kept part of the budget while waiting for more could otherwise wait for one
    /// another until their wait ran out.
    pub(crate) async fn grow_to(
        &mut self,
        to: u64,
        in_use: u64,
        url: &str,
    ) -> Result<(), RegistryError> {
        if to <= self.held {
            return Ok(());
        }
        if let Some(b) = self.budget {
            let missing = |s: &Self| to - s.held + if s.buffer_held { 0 } else { s.buffer };
            let more = match b.try_take(missing(self)) {
                Some(more) => more,
                None => {
                    let keep = in_use.min(self.held);
                    if let Some(p) = &mut self.permit {
                        let extra = (p.num_permits() as u64).saturating_sub(keep);
                        drop(p.split(extra as usize));
                    }
                    self.held = keep;
                    self.buffer_held = false;
                    b.take(missing(self), url).await?
                }
            };
            match &mut self.permit {
                Some(p) => p.merge(more),
                None => self.permit = Some(more),
            }
            self.buffer_held = true;
        }
        self.held = to;
        Ok(())
    }

    /// Gives back everything above `keep` bytes (the read buffer's share, what the body did
    /// not fill) and holds the rest with the body's bytes.
    pub(crate) fn keep(mut self, keep: u64) -> BodyHold {
        if let Some(p) = &mut self.permit {
            let extra = (p.num_permits() as u64).saturating_sub(keep);
            // Dropped at once: the bytes the body does not hold go back to the budget.
            drop(p.split(extra as usize));
        }
        BodyHold(self.permit.map(Arc::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_share_is_given_back_when_its_bytes_are_dropped() {
        rt().block_on(async {
            let b = BodyBudget::with_wait(1000, Duration::from_millis(10));
            // 100 bytes of a body of at most 300, and 300 for its read buffer.
            let mut s = Share::take(Some(&b), 100, 300, "u").await.expect("room");
            assert_eq!(b.available(), 600);
            s.grow_to(600, 100, "u").await.expect("room");
            assert_eq!((s.held(), b.available()), (600, 100));
            let hold = s.keep(250);
            assert_eq!((hold.bytes(), b.available()), (250, 750));
            let copy = hold.clone();
            drop(hold);
            assert_eq!(b.available(), 750, "a clone still holds the bytes");
            drop(copy);
            assert_eq!(b.available(), 1000);
            assert_eq!(b.bytes_taken(), 900);
        });
    }

    #[test]
    fn no_room_within_the_wait_is_an_error_naming_the_budget() {
        rt().block_on(async {
            let b = BodyBudget::with_wait(1000, Duration::from_millis(20));
            let held = Share::take(Some(&b), 450, 450, "u").await.expect("room");
            assert_eq!(b.available(), 100);
            let e = Share::take(Some(&b), 60, 60, "http://r/v2/a/manifests/t")
                .await
                .err()
                .expect("no room");
            let text = e.to_string();
            assert!(
                text.contains(BUDGET_KEY) && text.contains("1000") && text.contains("/manifests/t"),
                "{text}"
            );
            assert!(e.is_unavailable(), "{e:?}");
            // Larger than the whole budget with its buffer: refused without waiting.
            let e = Share::take(Some(&b), 501, 501, "u")
                .await
                .err()
                .expect("too large");
            assert!(matches!(e, RegistryError::BodyBudget { waited, .. } if waited.is_zero()));
            drop(held);
            assert!(Share::take(Some(&b), 200, 200, "u").await.is_ok());
            // The read buffer's share is at most READ_BUFFER_SHARE.
            let big = BodyBudget::new(4 * READ_BUFFER_SHARE);
            let s = Share::take(
                Some(&big),
                READ_BUFFER_SHARE * 2,
                READ_BUFFER_SHARE * 3,
                "u",
            )
            .await
            .expect("room");
            assert_eq!(big.available(), READ_BUFFER_SHARE);
            drop(s.keep(0));
            assert_eq!(big.available(), 4 * READ_BUFFER_SHARE);
        });
    }

    #[test]
    fn a_body_that_must_wait_to_grow_holds_only_what_it_read() {
        rt().block_on(async {
            let b = BodyBudget::with_wait(1000, Duration::from_millis(20));
            // 100 bytes (40 read so far) and a 200-byte buffer share, of a body of at most 600.
            let mut s = Share::take(Some(&b), 100, 200, "u").await.expect("room");
            let other = Share::take(Some(&b), 300, 300, "u").await.expect("room");
            assert_eq!(b.available(), 100);
            // 500 more do not fit: while it waits, only the 40 read bytes stay taken.
            let e = s.grow_to(600, 40, "u").await.expect_err("no room");
            assert!(matches!(e, RegistryError::BodyBudget { .. }), "{e:?}");
            assert_eq!(b.available(), 1000 - 600 - 40);
            drop(other);
            s.grow_to(600, 40, "u").await.expect("room now");
            assert_eq!((s.held(), b.available()), (600, 200));
            drop(s.keep(600));
            assert_eq!(b.available(), 1000);
        });
    }

    #[test]
    fn without_a_budget_a_body_may_grow_to_its_cap() {
        rt().block_on(async {
            let mut s = Share::take(None, 10, 500, "u").await.expect("no budget");
            assert_eq!(s.held(), 500);
            s.grow_to(500, 10, "u").await.expect("no budget");
            assert_eq!(s.keep(3).bytes(), 0);
        });
    }
}
