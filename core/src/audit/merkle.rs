//! The Merkle tree over an org's audit events, hashed as RFC 6962 (Certificate Transparency)
//! and RFC 9162 define it, so any transparency-log tool can check our proofs:
//!
//! - leaf `i` (0-based) is the event with sequence `i + 1`; its hash is
//!   `SHA-256(0x00 || canonical(sequence, event))` (see [`super::chain::canonical`]);
//! - an interior node is `SHA-256(0x01 || left || right)`;
//! - the root of `n` leaves splits at `k`, the largest power of two below `n`:
//!   `MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))`; the empty tree's root is `SHA-256("")`.
//!
//! The tree is kept incrementally as a [`Frontier`] (a "compact range"): the roots of the
//! perfect subtrees that make up `[0, n)`, largest first, one per set bit of `n`. Appending a
//! leaf merges equal-sized subtrees, O(log n), and the root is a fold of the frontier.
//! Proofs are computed from the leaf hashes (stored per event), and verified with the
//! algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).

use sha2::{Digest, Sha256};

use super::chain::canonical;
use super::event::AuditEvent;

pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The leaf hash of the event at `sequence` (its canonical encoding, the bytes the chain
/// hashes too).
pub fn event_leaf(sequence: i64, event: &AuditEvent) -> Hash {
    leaf_hash(&canonical(sequence, event))
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The roots of the perfect subtrees covering `[0, size)`: all an append needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Largest subtree first; one per set bit of `size`.
    nodes: Vec<Hash>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash: O(log n), merging the subtrees it completes.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.nodes.pop().expect("a subtree per set bit");
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// The tree's root hash: the frontier folded from the right (the smallest subtree is the
    /// deepest right child).
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The frontier's hashes, concatenated (how it is stored).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.nodes.concat()
    }

    /// A stored frontier; `None` when the bytes are not one hash per set bit of `size`.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Option<Frontier> {
        if bytes.len() != size.count_ones() as usize * 32 {
            return None;
        }
        let nodes = bytes
            .chunks_exact(32)
            .map(|c| <Hash>::try_from(c).expect("32-byte chunks"))
            .collect();
        Some(Frontier { size, nodes })
    }

    pub fn from_leaves(leaves: &[Hash]) -> Frontier {
        let mut f = Frontier::default();
        for l in leaves {
            f.push(*l);
        }
        f
    }
}

/// `MTH(D[0:n])` over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The inclusion proof (audit path, RFC 6962 §2.1.1) of leaf `index` in the tree of `leaves`;
/// `None` when `index` is out of range.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    let Ok(proof) = inclusion_proof_by::<std::convert::Infallible>(
        leaves.len() as u64,
        index as u64,
        &mut |a, b| Ok(root(&leaves[a as usize..b as usize])),
    );
    proof
}

/// The consistency proof (RFC 6962 §2.1.2) that the tree of the first `old_size` leaves is a
/// prefix of the tree of all `leaves`; `None` when `old_size` exceeds them.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    let Ok(proof) = consistency_proof_by::<std::convert::Infallible>(
        leaves.len() as u64,
        old_size as u64,
        &mut |a, b| Ok(root(&leaves[a as usize..b as usize])),
    );
    proof
}
/// The inclusion proof of leaf `index` in a tree of `size` leaves, with `mth(start, end)`
/// giving `MTH(D[start:end])` for each subtree the proof names (every one is a node of the
/// tree: a perfect subtree, or the right edge). `None` when `index` is out of range.
pub fn inclusion_proof_by<E>(
    size: u64,
    index: u64,
    mth: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Option<Vec<Hash>>, E> {
    fn path<E>(
        m: u64,
        start: u64,
        end: u64,
        mth: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
        out: &mut Vec<Hash>,
    ) -> Result<(), E> {
        if end - start <= 1 {
            return Ok(());
        }
        let k = split((end - start) as usize) as u64;
        if m < k {
            path(m, start, start + k, mth, out)?;
            out.push(mth(start + k, end)?);
        } else {
            path(m - k, start + k, end, mth, out)?;
            out.push(mth(start, start + k)?);
        }
        Ok(())
    }
    if index >= size {
        return Ok(None);
    }
    let mut out = Vec::new();
    path(index, 0, size, mth, &mut out)?;
    Ok(Some(out))
}

/// The consistency proof that the tree of `old_size` leaves is a prefix of the tree of
/// `size`, with `mth` as for [`inclusion_proof_by`]. `None` when `old_size` exceeds `size`.
pub fn consistency_proof_by<E>(
    size: u64,
    old_size: u64,
    mth: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Option<Vec<Hash>>, E> {
    fn subproof<E>(
        m: u64,
        start: u64,
        end: u64,
        whole: bool,
        mth: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
        out: &mut Vec<Hash>,
    ) -> Result<(), E> {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(mth(start, end)?);
            }
            return Ok(());
        }
        let k = split(n as usize) as u64;
        if m <= k {
            subproof(m, start, start + k, whole, mth, out)?;
            out.push(mth(start + k, end)?);
        } else {
            subproof(m - k, start + k, end, false, mth, out)?;
            out.push(mth(start, start + k)?);
        }
        Ok(())
    }
    if old_size > size {
        return Ok(None);
    }
    let mut out = Vec::new();
    if old_size > 0 && old_size < size {
        subproof(old_size, 0, size, true, mth, &mut out)?;
    }
    Ok(Some(out))
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): that `leaf` is leaf `index` of the tree of
/// `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && &r == root
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `old_size` leaves with
/// root `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        // The empty tree is a prefix of every tree; there is nothing to prove.
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && &f_r == old_root && &s_r == new_root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        <Hash>::try_from(hex::decode(s).unwrap().as_slice()).unwrap()
    }

    // The Certificate Transparency reference data (the leaves and roots of
    // certificate-transparency's merkle_tree_test and transparency-dev/merkle's
    // testonly/constants.go, Apache-2.0).
    const CT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn ct_leaves() -> Vec<Hash> {
        CT_LEAVES
            .iter()
            .map(|l| leaf_hash(&hex::decode(l).unwrap()))
            .collect()
    }

    #[test]
    fn roots_match_the_certificate_transparency_vectors() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let leaves = ct_leaves();
        let mut frontier = Frontier::default();
        for n in 1..=8 {
            frontier.push(leaves[n - 1]);
            assert_eq!(hex::encode(root(&leaves[..n])), CT_ROOTS[n - 1], "size {n}");
            assert_eq!(
                hex::encode(frontier.root()),
                CT_ROOTS[n - 1],
                "frontier {n}"
            );
            // What is stored round-trips, and nothing else parses as a frontier.
            let bytes = frontier.to_bytes();
            assert_eq!(
                Frontier::from_bytes(n as u64, &bytes),
                Some(frontier.clone())
            );
            assert_eq!(Frontier::from_bytes(n as u64, &bytes[1..]), None);
            assert_eq!(Frontier::from_bytes(0, &bytes), None);
        }
    }

    #[test]
    fn proofs_match_the_certificate_transparency_vectors() {
        let leaves = ct_leaves();
        let root8 = h(CT_ROOTS[7]);
        let inclusion: [(usize, &[&str]); 2] = [
            (
                0,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (index, want) in inclusion {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(inclusion_proof(&leaves, index).unwrap(), want);
            assert!(verify_inclusion(
                &leaves[index],
                index as u64,
                8,
                &want,
                &root8
            ));
        }
        let consistency: [(usize, usize, &[&str]); 3] = [
            (
                2,
                8,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, want) in consistency {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(consistency_proof(&leaves[..n], m).unwrap(), want);
            assert!(verify_consistency(
                m as u64,
                n as u64,
                &h(CT_ROOTS[m - 1]),
                &h(CT_ROOTS[n - 1]),
                &want
            ));
        }
    }

    #[test]
    fn every_proof_verifies_and_no_altered_one_does() {
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=leaves.len() {
            let tree = &leaves[..n];
            let r = root(tree);
            assert_eq!(Frontier::from_leaves(tree).root(), r);
            for i in 0..n {
                let p = inclusion_proof(tree, i).unwrap();
                assert!(verify_inclusion(&tree[i], i as u64, n as u64, &p, &r));
                if n > 1 {
                    let wrong = (i + 1) % n;
                    assert!(!verify_inclusion(&tree[wrong], i as u64, n as u64, &p, &r));
                    assert!(!verify_inclusion(&tree[i], wrong as u64, n as u64, &p, &r));
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(!verify_inclusion(&tree[i], i as u64, n as u64, &bad, &r));
                    assert!(!verify_inclusion(
                        &tree[i],
                        i as u64,
                        n as u64,
                        &p[..p.len() - 1],
                        &r
                    ));
                }
            }
            assert!(inclusion_proof(tree, n).is_none());
            for m in 0..=n {
                let p = consistency_proof(tree, m).unwrap();
                let old = root(&tree[..m]);
                assert!(
                    verify_consistency(m as u64, n as u64, &old, &r, &p),
                    "{m}->{n}"
                );
                if m > 0 && m < n {
                    let mut bad = p.clone();
                    let last = bad.len() - 1;
                    bad[last][5] ^= 1;
                    assert!(!verify_consistency(m as u64, n as u64, &old, &r, &bad));
                    // A tree whose prefix was rewritten is not consistent with the old one.
                    let other = root(&leaves[1..=m]);
                    assert!(!verify_consistency(m as u64, n as u64, &other, &r, &p));
                }
            }
        }
    }
}
