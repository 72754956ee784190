//! Two-generation caches: `xache` (key → value, reads refresh, retained entries never expire)
//! and `record-cache` (topic → up to many records, random sampling). Generations rotate every
//! `ceil(2/3 · maxAge)` or when the fresh generation exceeds `maxSize`. Rotation is evaluated
//! lazily against the `now` passed in, so there are no timers (sans-IO).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

fn rotate_every(max_age: Duration) -> Duration {
    let ms = max_age.as_millis() as u64;
    Duration::from_millis((2 * ms).div_ceil(3).max(1))
}

/// `xache`.
#[derive(Debug)]
pub struct Xache<K, V> {
    fresh: HashMap<K, V>,
    stale: HashMap<K, V>,
    retained: HashMap<K, V>,
    max_size: usize,
    every: Option<Duration>,
    last_rotate: Instant,
}

impl<K: Hash + Eq + Clone, V: Clone> Xache<K, V> {
    /// `max_age` zero means entries never age out (only size-based rotation).
    pub fn new(max_size: usize, max_age: Duration, now: Instant) -> Self {
        Xache {
            fresh: HashMap::new(),
            stale: HashMap::new(),
            retained: HashMap::new(),
            max_size: max_size.max(1),
            every: (!max_age.is_zero()).then(|| rotate_every(max_age)),
            last_rotate: now,
        }
    }

    fn tick(&mut self, now: Instant) {
        let Some(every) = self.every else { return };
        while now.duration_since(self.last_rotate) >= every {
            self.rotate();
            self.last_rotate += every;
            if self.fresh.is_empty() && self.stale.is_empty() {
                self.last_rotate = now;
                break;
            }
        }
    }

    fn rotate(&mut self) {
        self.stale = std::mem::take(&mut self.fresh);
    }

    pub fn len(&self) -> usize {
        self.fresh.len() + self.stale.len() + self.retained.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn set(&mut self, k: K, v: V, now: Instant) {
        self.tick(now);
        if self.retained.contains_key(&k) {
            return;
        }
        self.stale.remove(&k);
        self.fresh.insert(k, v);
        if self.fresh.len() >= self.max_size {
            self.rotate();
        }
    }

    /// Stores an entry that never expires and cannot be overwritten by `set`.
    pub fn retain(&mut self, k: K, v: V) {
        self.fresh.remove(&k);
        self.stale.remove(&k);
        self.retained.insert(k, v);
    }

    /// Reads refresh: an entry found in the stale generation moves to the fresh one.
    pub fn get(&mut self, k: &K, now: Instant) -> Option<V> {
        self.tick(now);
        if let Some(v) = self.retained.get(k) {
            return Some(v.clone());
        }
        if let Some(v) = self.fresh.get(k) {
            return Some(v.clone());
        }
        let v = self.stale.remove(k)?;
        self.fresh.insert(k.clone(), v.clone());
        if self.fresh.len() >= self.max_size {
            self.rotate();
        }
        Some(v)
    }

    pub fn delete(&mut self, k: &K) -> Option<V> {
        let a = self.retained.remove(k);
        let b = self.fresh.remove(k);
        let c = self.stale.remove(k);
        a.or(b).or(c)
    }
}

/// One topic's records in one generation: a dense vector (random sampling by index, O(k)) plus
/// a key → index map (insert, lookup and swap-remove in O(1)).
#[derive(Debug, Default)]
struct TopicRecords {
    entries: Vec<([u8; 32], Vec<u8>)>,
    index: HashMap<[u8; 32], usize>,
}

impl TopicRecords {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn contains_key(&self, key: &[u8; 32]) -> bool {
        self.index.contains_key(key)
    }

    fn insert(&mut self, key: [u8; 32], record: Vec<u8>) {
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = record,
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push((key, record));
            }
        }
    }

    fn remove(&mut self, key: &[u8; 32]) -> Option<Vec<u8>> {
        let i = self.index.remove(key)?;
        let (_, record) = self.entries.swap_remove(i);
        if let Some((moved, _)) = self.entries.get(i) {
            self.index.insert(*moved, i);
        }
        Some(record)
    }
}

/// `record-cache`: records keyed by (topic, public key).
#[derive(Debug)]
pub struct RecordCache {
    fresh: HashMap<[u8; 32], TopicRecords>,
    stale: HashMap<[u8; 32], TopicRecords>,
    fresh_count: usize,
    stale_count: usize,
    max_size: usize,
    every: Duration,
    last_rotate: Instant,
}

impl RecordCache {
    pub fn new(max_size: usize, max_age: Duration, now: Instant) -> Self {
        RecordCache {
            fresh: HashMap::new(),
            stale: HashMap::new(),
            fresh_count: 0,
            stale_count: 0,
            max_size: max_size.max(1),
            every: rotate_every(max_age.max(Duration::from_millis(1))),
            last_rotate: now,
        }
    }

    fn tick(&mut self, now: Instant) {
        while now.duration_since(self.last_rotate) >= self.every {
            self.rotate();
            self.last_rotate += self.every;
            if self.fresh_count == 0 && self.stale_count == 0 {
                self.last_rotate = now;
                break;
            }
        }
    }

    fn rotate(&mut self) {
        self.stale = std::mem::take(&mut self.fresh);
        self.stale_count = self.fresh_count;
        self.fresh_count = 0;
    }

    /// Number of stored records (both generations).
    pub fn len(&self) -> usize {
        self.fresh_count + self.stale_count
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a record; a record already in the fresh generation keeps its old value (upstream).
    pub fn add(&mut self, topic: [u8; 32], key: [u8; 32], record: Vec<u8>, now: Instant) {
        self.tick(now);
        if self.fresh.get(&topic).is_some_and(|m| m.contains_key(&key)) {
            return;
        }
        if let Some(m) = self.stale.get_mut(&topic) {
            if m.remove(&key).is_some() {
                self.stale_count -= 1;
                if m.is_empty() {
                    self.stale.remove(&topic);
                }
            }
        }
        self.fresh.entry(topic).or_default().insert(key, record);
        self.fresh_count += 1;
        if self.fresh_count > self.max_size {
            self.rotate();
        }
    }

    pub fn remove(&mut self, topic: &[u8; 32], key: &[u8; 32]) {
        for (gen, count) in [
            (&mut self.fresh, &mut self.fresh_count),
            (&mut self.stale, &mut self.stale_count),
        ] {
            if let Some(m) = gen.get_mut(topic) {
                if m.remove(key).is_some() {
                    *count -= 1;
                }
                if m.is_empty() {
                    gen.remove(topic);
                }
            }
        }
    }

    /// Up to `n` random records for `topic` from both generations, in O(n) whatever the
    /// topic's size (a LOOKUP on a topic with 65,536 records used to scan them all under the
    /// node lock, issue 14 #4).
    pub fn get(&mut self, topic: &[u8; 32], n: usize, now: Instant) -> Vec<Vec<u8>> {
        self.tick(now);
        let empty = TopicRecords::default();
        let fresh = self.fresh.get(topic).unwrap_or(&empty);
        let stale = self.stale.get(topic).unwrap_or(&empty);
        let total = fresh.len() + stale.len();
        let picks = rand::seq::index::sample(&mut rand::thread_rng(), total, n.min(total));
        picks
            .into_iter()
            .map(|i| match fresh.entries.get(i) {
                Some((_, r)) => r.clone(),
                None => stale.entries[i - fresh.len()].1.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xache_reads_refresh_and_expire() {
        let t0 = Instant::now();
        let mut c = Xache::new(10, Duration::from_secs(30), t0);
        c.set(1, "a", t0);
        assert_eq!(c.get(&1, t0 + Duration::from_secs(25)), Some("a"));
        // read at 25 s moved it to the fresh generation of the 20 s rotation
        assert_eq!(c.get(&1, t0 + Duration::from_secs(55)), Some("a"));
        assert_eq!(c.get(&1, t0 + Duration::from_secs(200)), None);
    }

    #[test]
    fn record_cache_bounded() {
        let t0 = Instant::now();
        let mut c = RecordCache::new(100, Duration::from_secs(1200), t0);
        for i in 0..10_000u32 {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&i.to_le_bytes());
            c.add([(i % 7) as u8; 32], k, vec![1, 2, 3], t0);
            assert!(c.len() <= 201);
        }
        assert!(c.get(&[1u8; 32], 20, t0).len() <= 20);
    }

    fn key(i: u32) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_le_bytes());
        k
    }

    #[test]
    fn record_cache_samples_distinct_records_of_both_generations() {
        let t0 = Instant::now();
        let mut c = RecordCache::new(1000, Duration::from_secs(1200), t0);
        let topic = [9u8; 32];
        for i in 0..10u32 {
            c.add(topic, key(i), i.to_le_bytes().to_vec(), t0);
        }
        c.rotate(); // 0..10 stale
        for i in 10..20u32 {
            c.add(topic, key(i), i.to_le_bytes().to_vec(), t0);
        }
        c.remove(&topic, &key(3));
        c.remove(&topic, &key(15));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let got = c.get(&topic, 5, t0);
            assert_eq!(got.len(), 5);
            let distinct: std::collections::HashSet<_> = got.iter().collect();
            assert_eq!(distinct.len(), 5, "no record twice in one answer");
            seen.extend(got);
        }
        let want: std::collections::HashSet<Vec<u8>> = (0..20u32)
            .filter(|i| *i != 3 && *i != 15)
            .map(|i| i.to_le_bytes().to_vec())
            .collect();
        assert_eq!(
            seen, want,
            "every stored record is sampled, removed ones never"
        );
        assert_eq!(c.get(&topic, 50, t0).len(), 18);
    }

    /// Issue 14 #4: a LOOKUP costs the same on a topic of 65,536 records as on one of 20 (the
    /// scan made it ~3,000× more; compared against each other, so no absolute timing).
    #[test]
    fn record_cache_lookup_cost_does_not_grow_with_the_topic() {
        let t0 = Instant::now();
        let mut c = RecordCache::new(1 << 17, Duration::from_secs(1200), t0);
        let (small, big) = ([1u8; 32], [2u8; 32]);
        for i in 0..20u32 {
            c.add(small, key(i), vec![0; 64], t0);
        }
        for i in 0..65_536u32 {
            c.add(big, key(i), vec![0; 64], t0);
        }
        let mut cost = |topic: &[u8; 32]| {
            (0..5)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..2_000 {
                        assert_eq!(c.get(topic, 20, t0).len(), 20);
                    }
                    start.elapsed()
                })
                .min()
                .unwrap()
        };
        let (s, b) = (cost(&small), cost(&big));
        assert!(
            b < s * 20,
            "65,536-record topic {b:?} vs 20-record topic {s:?}"
        );
    }
}
