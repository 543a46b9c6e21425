//! The agency registry: ids, names, levels and the tree that results roll up through.

/// Dense index of an agency in the registry (registry order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgencyIdx(pub u32);

impl AgencyIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One agency as configured.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyDef {
    pub id: String,
    pub name: String,
    pub level: String,
    #[serde(default)]
    pub parent: Option<String>,
}

/// A validated agency tree.
#[derive(Debug, Clone)]
pub struct Registry {
    agencies: Vec<AgencyDef>,
    parents: Vec<Option<AgencyIdx>>,
    /// foldhash: every event's agency is looked up here; SipHash showed in the Kafka profile.
    by_id: foldhash::HashMap<String, AgencyIdx>,
    /// Children before parents: summing in this order pools every subtree in one pass.
    bottom_up: Vec<AgencyIdx>,
    /// Registry indices sorted by agency id, the order results are written in.
    by_id_order: Vec<AgencyIdx>,
}

/// Why a registry is refused at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("agency #{0} has an empty id or an id over 64 characters")]
    BadId(usize),
    #[error("agency `{0}` appears twice")]
    Duplicate(String),
    #[error("agency `{0}` has an empty name or level")]
    Incomplete(String),
    #[error("agency `{agency}` names parent `{parent}`, which is not in the registry")]
    UnknownParent { agency: String, parent: String },
    #[error("agency `{0}` is its own ancestor")]
    Cycle(String),
    #[error("the registry is empty")]
    Empty,
    #[error("the registry has {0} agencies: at most {MAX_AGENCIES} are supported")]
    TooLarge(usize),
}

/// Agencies a registry may hold: with [`crate::core::MAX_REPORTED`] per reported value, the pooled
/// sums of a whole year over the whole tree stay exact in the scoring's 64-bit arithmetic
/// (10^6 agencies × 12 months × 10^11 = 1.2 × 10^18 < 2^63).
pub const MAX_AGENCIES: usize = 1_000_000;

impl Registry {
    pub fn new(agencies: Vec<AgencyDef>) -> Result<Self, RegistryError> {
        if agencies.is_empty() {
            return Err(RegistryError::Empty);
        }
        if agencies.len() > MAX_AGENCIES {
            return Err(RegistryError::TooLarge(agencies.len()));
        }
        let mut by_id =
            foldhash::HashMap::with_capacity_and_hasher(agencies.len(), Default::default());
        for (i, a) in agencies.iter().enumerate() {
            let len = a.id.chars().count();
            if len == 0 || len > 64 {
                return Err(RegistryError::BadId(i));
            }
            if a.name.trim().is_empty() || a.level.trim().is_empty() {
                return Err(RegistryError::Incomplete(a.id.clone()));
            }
            if by_id.insert(a.id.clone(), AgencyIdx(i as u32)).is_some() {
                return Err(RegistryError::Duplicate(a.id.clone()));
            }
        }
        let mut parents = Vec::with_capacity(agencies.len());
        for a in &agencies {
            parents.push(match a.parent.as_deref() {
                None | Some("") => None,
                Some(p) => Some(*by_id.get(p).ok_or_else(|| RegistryError::UnknownParent {
                    agency: a.id.clone(),
                    parent: p.to_owned(),
                })?),
            });
        }
        // Depth of each node; a walk longer than the registry means a cycle.
        let n = agencies.len();
        let mut depth = vec![0usize; n];
        for (i, d) in depth.iter_mut().enumerate() {
            let mut cur = parents[i];
            while let Some(p) = cur {
                *d += 1;
                if *d > n {
                    return Err(RegistryError::Cycle(agencies[i].id.clone()));
                }
                cur = parents[p.index()];
            }
        }
        let mut bottom_up: Vec<AgencyIdx> = (0..n as u32).map(AgencyIdx).collect();
        bottom_up.sort_by_key(|a| std::cmp::Reverse(depth[a.index()]));
        let mut by_id_order: Vec<AgencyIdx> = (0..n as u32).map(AgencyIdx).collect();
        by_id_order.sort_by(|a, b| agencies[a.index()].id.cmp(&agencies[b.index()].id));
        Ok(Registry {
            agencies,
            parents,
            by_id,
            bottom_up,
            by_id_order,
        })
    }

    pub fn len(&self) -> usize {
        self.agencies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.agencies.is_empty()
    }

    pub fn lookup(&self, id: &str) -> Option<AgencyIdx> {
        self.by_id.get(id).copied()
    }

    pub fn get(&self, idx: AgencyIdx) -> &AgencyDef {
        &self.agencies[idx.index()]
    }

    pub fn parent(&self, idx: AgencyIdx) -> Option<AgencyIdx> {
        self.parents[idx.index()]
    }

    pub fn defs(&self) -> &[AgencyDef] {
        &self.agencies
    }

    /// Agencies ordered children-first.
    pub fn bottom_up(&self) -> &[AgencyIdx] {
        &self.bottom_up
    }

    /// Agencies ordered by id.
    pub fn sorted_by_id(&self) -> &[AgencyIdx] {
        &self.by_id_order
    }

    /// Whether `node` is `root` or one of its descendants.
    pub fn in_subtree(&self, node: AgencyIdx, root: AgencyIdx) -> bool {
        let mut cur = Some(node);
        while let Some(c) = cur {
            if c == root {
                return true;
            }
            cur = self.parent(c);
        }
        false
    }

    /// Adds every agency's own values into its ancestors', so that each entry ends up holding
    /// the pooled total of its subtree.
    pub fn pool<T>(&self, values: &mut [T], mut add: impl FnMut(&mut T, &T))
    where
        T: Clone,
    {
        debug_assert_eq!(values.len(), self.len());
        for &a in &self.bottom_up {
            if let Some(p) = self.parent(a) {
                let child = values[a.index()].clone();
                add(&mut values[p.index()], &child);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(id: &str, parent: Option<&str>) -> AgencyDef {
        AgencyDef {
            id: id.into(),
            name: id.into(),
            level: "x".into(),
            parent: parent.map(Into::into),
        }
    }

    #[test]
    fn pools_three_levels_and_refuses_bad_trees() {
        let r = Registry::new(vec![
            def("C1", Some("D")),
            def("P", None),
            def("D", Some("P")),
            def("C2", Some("D")),
        ])
        .unwrap();
        let mut v = vec![1u64, 10, 100, 1000];
        r.pool(&mut v, |a, b| *a += *b);
        assert_eq!(v, [1, 1111, 1101, 1000]);
        assert!(r.in_subtree(r.lookup("C2").unwrap(), r.lookup("P").unwrap()));
        assert!(matches!(
            Registry::new(vec![def("A", Some("B")), def("B", Some("A"))]),
            Err(RegistryError::Cycle(_))
        ));
        assert!(matches!(
            Registry::new(vec![def("A", Some("Z"))]),
            Err(RegistryError::UnknownParent { .. })
        ));
        assert!(matches!(
            Registry::new(vec![def("A", None), def("A", None)]),
            Err(RegistryError::Duplicate(_))
        ));
    }
}
