//! Containers for the embedded line that grow in small steps, so a line of a million waiters
//! never stalls the queue lock for a whole-line rehash or copy.
//!
//! A `HashMap` doubles by moving every entry into a fresh table, and a `VecDeque` by copying
//! itself: at a million waiters that is tens of milliseconds (most of it page faults on the new
//! memory) with the one queue lock held, which every join and poll of every concert then waits
//! out. Split into shards, a map grows one shard at a time; in chunks, a deque never moves.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A `ShardedMap` is split into 2^SHARD_BITS maps: a shard's rehash moves 1/64 of the entries.
const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;

/// Elements per chunk of a `ChunkedDeque` (64 KiB of 16-byte ticket ids).
const CHUNK: usize = 4096;

/// A key that picks its own shard.
pub trait ShardKey {
    /// 128 bits of the key; mixed before use, so ids that differ only in their high bits
    /// (time-ordered ones) still spread over the shards.
    fn bits(&self) -> (u64, u64);
}

fn shard_of(key: &impl ShardKey) -> usize {
    let (hi, lo) = key.bits();
    // Fibonacci hashing: the top bits of the product depend on every bit of the input.
    ((hi ^ lo.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARD_BITS)) as usize
}

/// A hash map made of `SHARDS` maps.
pub struct ShardedMap<K, V> {
    shards: Box<[HashMap<K, V>]>,
    len: usize,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            len: 0,
        }
    }
}

impl<K: ShardKey + Hash + Eq, V> ShardedMap<K, V> {
    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[shard_of(key)].get(key)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.shards[shard_of(key)].get_mut(key)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = self.shards[shard_of(&key)].insert(key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let old = self.shards[shard_of(key)].remove(key);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(HashMap::iter)
    }
}

/// A FIFO of `Copy` values stored in fixed-size chunks: pushing never copies what is queued,
/// and memory follows the length (a chunk is freed once its last value is popped).
pub struct ChunkedDeque<T> {
    /// Never holds a chunk whose values were all popped: `front` is always `chunks[0][head]`.
    chunks: VecDeque<Vec<T>>,
    head: usize,
    len: usize,
}

impl<T> Default for ChunkedDeque<T> {
    fn default() -> Self {
        ChunkedDeque {
            chunks: VecDeque::new(),
            head: 0,
            len: 0,
        }
    }
}

impl<T: Copy> ChunkedDeque<T> {
    pub fn push_back(&mut self, value: T) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push_back(chunk);
            }
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<T> {
        let chunk = self.chunks.front()?;
        let value = chunk[self.head];
        self.head += 1;
        self.len -= 1;
        if self.head == chunk.len() {
            self.chunks.pop_front();
            self.head = 0;
        }
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.chunks
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c[if i == 0 { self.head } else { 0 }..].iter().copied())
    }
}

impl<T: Copy> FromIterator<T> for ChunkedDeque<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut deque = ChunkedDeque::default();
        for value in iter {
            deque.push_back(value);
        }
        deque
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ShardKey for u64 {
        fn bits(&self) -> (u64, u64) {
            (*self, 0)
        }
    }

    #[test]
    fn sharded_map_behaves_as_one_map_and_spreads_sequential_keys() {
        let mut map = ShardedMap::default();
        for k in 0..10_000u64 {
            assert_eq!(map.insert(k, k * 2), None);
        }
        assert_eq!(map.insert(7, 1), Some(14));
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&7), Some(&1));
        *map.get_mut(&8).unwrap() += 1;
        assert_eq!(map.get(&8), Some(&17));
        assert_eq!(map.remove(&9), Some(18));
        assert_eq!(map.remove(&9), None);
        assert_eq!(map.len(), 9_999);
        assert_eq!(map.iter().count(), 9_999);
        // Sequential ids (only their high half differs here) still use every shard evenly.
        let fullest = map.shards.iter().map(HashMap::len).max().unwrap();
        let emptiest = map.shards.iter().map(HashMap::len).min().unwrap();
        assert!(emptiest > 100 && fullest < 250, "{emptiest}..{fullest}");
    }

    #[test]
    fn chunked_deque_is_fifo_across_chunks_and_frees_what_it_pops() {
        let mut q: ChunkedDeque<u32> = (0..10_000).collect();
        assert_eq!(q.len(), 10_000);
        assert_eq!(q.chunks.len(), 3);
        for i in 0..5_000 {
            assert_eq!(q.pop_front(), Some(i));
        }
        assert_eq!(q.chunks.len(), 2, "the first chunk was freed");
        q.push_back(42);
        let rest: Vec<u32> = q.iter().collect();
        assert_eq!(rest.len(), 5_001);
        assert_eq!(rest[0], 5_000);
        assert_eq!(rest[5_000], 42);
        while q.pop_front().is_some() {}
        assert!(q.is_empty() && q.chunks.is_empty());
        q.push_back(1);
        assert_eq!(q.pop_front(), Some(1));
        assert_eq!(q.pop_front(), None);
    }
}
