//! The open dossiers of an engine, for the operator lists.

use super::Engine;
use crate::core::agency::AgencyIdx;
use crate::core::dossier::View;
use crate::core::time::Timestamp;

impl Engine {
    /// Open (not ended, not rejected) dossiers of the agencies `include` accepts, at `now`.
    pub fn open_dossiers(
        &self,
        mut include: impl FnMut(AgencyIdx) -> bool,
    ) -> Vec<OpenDossier<'_>> {
        let horizon = self.settings.due_soon_horizon;
        self.dossiers
            .iter()
            .filter(|d| include(d.agency))
            .filter_map(|d| match d.view(self.now, horizon, &self.logs) {
                View::Known(s) if s.is_open() && !s.rejected => Some(OpenDossier {
                    id: d.id(),
                    agency: d.agency,
                    procedure: self.procedure_of(d),
                    received_at: s.received_at,
                    due: s.due,
                    late: s.late,
                    paused: s.paused,
                    due_soon: s.due_soon,
                }),
                _ => None,
            })
            .collect()
    }
}

/// An open dossier as the operator lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDossier<'a> {
    pub id: &'a str,
    pub agency: AgencyIdx,
    pub procedure: Option<&'a str>,
    pub received_at: Timestamp,
    pub due: Timestamp,
    /// Late already (overdue, including paused dossiers late by rule 4).
    pub late: bool,
    /// Waiting for the applicant's papers.
    pub paused: bool,
    pub due_soon: bool,
}
