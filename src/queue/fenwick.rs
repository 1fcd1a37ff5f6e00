//! A growable Fenwick (binary indexed) tree of 0/1 counts: "how many waiters joined at or before
//! me are still waiting" in O(log n), which is a ticket's position without scanning the line.

#[derive(Debug, Clone)]
pub struct Fenwick {
    /// 1-based tree; `tree[0]` is unused.
    tree: Vec<u32>,
}

impl Default for Fenwick {
    fn default() -> Self {
        Self::new()
    }
}

impl Fenwick {
    pub fn new() -> Self {
        Fenwick { tree: vec![0] }
    }

    /// `n` slots each holding 1, built in O(n): node i covers `lowbit(i)` slots.
    pub fn with_ones(n: usize) -> Self {
        let mut tree = Vec::with_capacity(n + 1);
        tree.push(0);
        tree.extend((1..=n).map(|i| (i & i.wrapping_neg()) as u32));
        Fenwick { tree }
    }

    /// Number of slots, i.e. the next index `push` will use is `len()`.
    pub fn len(&self) -> usize {
        self.tree.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends slot `len()` holding `value` in O(log n).
    pub fn push(&mut self, value: u32) {
        let i = self.tree.len(); // 1-based index of the new slot
        let low = i & i.wrapping_neg();
        // The new node covers (i - low, i]: the sum of the slots it covers before it, plus itself.
        let covered = self.prefix_1based(i - 1) - self.prefix_1based(i - low);
        self.tree.push(covered + value);
    }

    /// Adds `delta` (±1) to slot `index`.
    pub fn add(&mut self, index: usize, delta: i32) {
        let mut i = index + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// Sum of slots `0..=index`.
    pub fn prefix(&self, index: usize) -> u32 {
        self.prefix_1based((index + 1).min(self.len()))
    }

    fn prefix_1based(&self, mut i: usize) -> u32 {
        let mut sum = 0u32;
        while i > 0 {
            sum = sum.wrapping_add(self.tree[i]);
            i &= i - 1;
        }
        sum
    }

    /// Bytes held, for the memory figures.
    pub fn capacity_bytes(&self) -> usize {
        self.tree.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_sums_match_a_plain_vector_while_growing_and_removing() {
        let mut f = Fenwick::new();
        let mut plain = Vec::new();
        for i in 0..1000usize {
            f.push(1);
            plain.push(1u32);
            if i % 3 == 0 {
                let j = (i * 7) % plain.len();
                if plain[j] == 1 {
                    plain[j] = 0;
                    f.add(j, -1);
                }
            }
            let k = (i * 13) % plain.len();
            assert_eq!(f.prefix(k), plain[..=k].iter().sum::<u32>(), "at step {i}");
        }
        assert_eq!(f.prefix(plain.len() - 1), plain.iter().sum::<u32>());
    }

    #[test]
    fn with_ones_matches_pushing_ones() {
        let built = Fenwick::with_ones(1000);
        let mut pushed = Fenwick::new();
        (0..1000).for_each(|_| pushed.push(1));
        for k in [0, 1, 2, 511, 512, 999] {
            assert_eq!(built.prefix(k), pushed.prefix(k));
            assert_eq!(built.prefix(k), k as u32 + 1);
        }
    }
}
