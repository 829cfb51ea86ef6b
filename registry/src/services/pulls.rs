//! Pull tracking: `lastRecordedPullTime`, written at most once per image per
//! interval and never on a pull's way.
//!
//! A pull only checks an in-memory map and hands the write to one writer task, so a
//! busy image costs one database write per interval rather than one per pull, and
//! no pull waits on the database. The recorded time is the first pull of each
//! interval: at most one interval old, which is what ECR promises too ("refreshes
//! the last image pull timestamp at least once every 24 hours") and far finer than
//! lifecycle's `sinceImagePulled`, counted in days.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::clock::now_epoch_seconds;
use crate::storage::Metadata;

/// Writes waiting for the writer; beyond this a pull is not recorded now, and the
/// next pull of that image tries again.
const QUEUE: usize = 4096;
/// Images remembered before the ones written longer than an interval ago are forgotten.
const REMEMBERED: usize = 65_536;

type Image = (i64, String);

/// Which images were written when: decides whether a pull needs a write.
struct Throttle {
    interval: Duration,
    written: HashMap<Image, Instant>,
}

impl Throttle {
    fn new(interval: Duration) -> Throttle {
        Throttle {
            interval,
            written: HashMap::new(),
        }
    }

    /// True, and remembered as written, when `image` was not written within the interval.
    fn claim(&mut self, image: &Image, now: Instant) -> bool {
        if let Some(at) = self.written.get(image) {
            if now.duration_since(*at) < self.interval {
                return false;
            }
        }
        if self.written.len() >= REMEMBERED {
            let interval = self.interval;
            self.written
                .retain(|_, at| now.duration_since(*at) < interval);
            if self.written.len() >= REMEMBERED {
                self.written.clear();
            }
        }
        self.written.insert(image.clone(), now);
        true
    }

    /// A claimed write that could not be queued: let the next pull try.
    fn release(&mut self, image: &Image) {
        self.written.remove(image);
    }
}

pub struct PullRecorder {
    throttle: Mutex<Throttle>,
    queue: mpsc::Sender<(Image, f64)>,
}

impl PullRecorder {
    /// Starts the writer task on the current runtime.
    pub fn start(metadata: Arc<dyn Metadata>, interval: Duration) -> PullRecorder {
        let (queue, mut writes) = mpsc::channel::<(Image, f64)>(QUEUE);
        tokio::spawn(async move {
            while let Some(((repository_id, digest), at)) = writes.recv().await {
                if let Err(e) = metadata.record_pull(repository_id, &digest, at).await {
                    eprintln!("cannot record a pull of {digest}: {e}");
                }
            }
        });
        PullRecorder {
            throttle: Mutex::new(Throttle::new(interval)),
            queue,
        }
    }

    /// Notes a pull of the image; returns at once.
    pub fn record(&self, repository_id: i64, digest: &str) {
        let image = (repository_id, digest.to_string());
        let mut throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        if !throttle.claim(&image, Instant::now()) {
            return;
        }
        if self
            .queue
            .try_send((image.clone(), now_epoch_seconds()))
            .is_err()
        {
            throttle.release(&image);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_write_per_image_per_interval() {
        let mut throttle = Throttle::new(Duration::from_secs(60));
        let start = Instant::now();
        let a = (1, "sha256:a".to_string());
        let b = (1, "sha256:b".to_string());
        assert!(throttle.claim(&a, start));
        assert!(!throttle.claim(&a, start + Duration::from_secs(59)));
        assert!(throttle.claim(&b, start + Duration::from_secs(59)));
        assert!(throttle.claim(&a, start + Duration::from_secs(60)));
        assert!(!throttle.claim(&a, start + Duration::from_secs(61)));
    }

    #[test]
    fn a_write_that_was_not_queued_is_tried_again() {
        let mut throttle = Throttle::new(Duration::from_secs(60));
        let start = Instant::now();
        let a = (1, "sha256:a".to_string());
        assert!(throttle.claim(&a, start));
        throttle.release(&a);
        assert!(throttle.claim(&a, start + Duration::from_secs(1)));
    }

    #[test]
    fn memory_stays_bounded() {
        let mut throttle = Throttle::new(Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..(REMEMBERED as i64 + 10) {
            assert!(throttle.claim(&(i, "sha256:a".to_string()), start));
        }
        assert!(throttle.written.len() <= REMEMBERED);
    }
}
