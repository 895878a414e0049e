use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When a job must stop, keeping a margin to leave a consistent state and
/// answer: a Lambda invocation's deadline, or none (the dev server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline: the job runs to the end.
    pub const NONE: Self = Self(None);

    /// What a job keeps in hand: a page of transactions and the answer.
    pub const MARGIN: Duration = Duration::from_secs(20);

    pub fn at(instant: Instant) -> Self {
        Self(Some(instant))
    }

    /// Lambda's deadline (milliseconds since the Unix epoch, from the
    /// runtime's `Lambda-Runtime-Deadline-Ms`), as an instant of this process.
    pub fn from_epoch_millis(deadline_ms: u64) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        // Checked: an absurd deadline (far past `Instant`'s range) means none.
        Self(Instant::now().checked_add(Duration::from_millis(deadline_ms.saturating_sub(now_ms))))
    }

    /// Whether the job should stop now to finish within the deadline.
    pub fn is_near(self) -> bool {
        self.0
            .is_some_and(|deadline| Instant::now() + Self::MARGIN >= deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_near_within_its_margin() {
        assert!(!Deadline::NONE.is_near());
        assert!(Deadline::at(Instant::now()).is_near());
        assert!(Deadline::at(Instant::now() + Deadline::MARGIN / 2).is_near());
        assert!(!Deadline::at(Instant::now() + Deadline::MARGIN * 3).is_near());
        let in_a_minute = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis()
            + 60_000;
        let lambda = Deadline::from_epoch_millis(u64::try_from(in_a_minute).expect("fits"));
        assert!(!lambda.is_near());
        assert!(
            Deadline::from_epoch_millis(0).is_near(),
            "a deadline already past"
        );
    }
}
