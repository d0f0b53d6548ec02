//! Rate limits, pure: how long a sink's next `n` sends must wait, given
//! when it was sent to. The sends are counted in the store by every
//! instance (`store::sinks::admit`), so several daemons sharing one
//! robot keep its limit together.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// At most `count` sends in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub window: Duration,
}

/// The limits of a sink: `per_minute` (or the robot's own: WeCom and
/// DingTalk 20, Feishu 100) over `window` (a minute, scaled down in
/// tests), and Feishu's 5 a second over a sixtieth of it. A webhook or
/// email has none unless configured.
pub fn limits(
    robot: Option<super::robots::Robot>,
    per_minute: Option<u32>,
    window: Duration,
) -> Vec<RateLimit> {
    use super::robots::Robot;
    let own = match robot {
        None => None,
        Some(Robot::Wecom | Robot::Dingtalk) => Some(20),
        Some(Robot::Feishu) => Some(100),
    };
    let mut limits: Vec<RateLimit> = per_minute
        .or(own)
        .map(|count| RateLimit { count, window })
        .into_iter()
        .collect();
    if robot == Some(Robot::Feishu) {
        limits.push(RateLimit {
            count: 5,
            window: window / 60,
        });
    }
    limits
}

/// Each window is kept a tenth longer than the robot's: the robot counts
/// arrivals, which trail our sends by the network's delay, and a send that
/// left first may arrive late.
pub const MARGIN_DIVISOR: u32 = 10;

/// The span over which a limit's sends are counted: its window and the
/// margin ([`MARGIN_DIVISOR`]).
pub fn counted_window(window: Duration) -> Duration {
    window + window / MARGIN_DIVISOR
}

/// How long until `n` more sends fit every limit, given the times of the
/// sends so far (oldest first); `None` when they fit now. (The sender
/// asks for one part at a time; more than a limit's count go only when
/// its window is empty.)
pub fn wait(
    sent: &[DateTime<Utc>],
    n: usize,
    limits: &[RateLimit],
    now: DateTime<Utc>,
) -> Option<Duration> {
    let mut longest: Option<Duration> = None;
    for limit in limits {
        let window = chrono::Duration::from_std(counted_window(limit.window)).unwrap_or_default();
        let inside: Vec<&DateTime<Utc>> = sent.iter().filter(|t| **t > now - window).collect();
        let count = limit.count as usize;
        let free = count.saturating_sub(inside.len());
        if n <= free || inside.is_empty() {
            continue;
        }
        // The oldest sends that must leave the window first.
        let leave = n.min(count).saturating_sub(free).max(1);
        let Some(oldest) = inside.get(leave - 1) else {
            continue;
        };
        let until =
            (**oldest + window - now).to_std().unwrap_or_default() + Duration::from_millis(5);
        longest = Some(longest.map_or(until, |l| l.max(until)));
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + ms).expect("a time")
    }

    #[test]
    fn waits_until_the_oldest_send_leaves_the_window() {
        let minute = RateLimit {
            count: 3,
            window: Duration::from_secs(60),
        };
        let sent = [at(0), at(10_000), at(20_000)];
        assert_eq!(wait(&sent[..2], 1, &[minute], at(30_000)), None);
        // The window kept a tenth longer: 66 s.
        let w = wait(&sent, 1, &[minute], at(30_000)).expect("full");
        assert_eq!(w.as_millis(), 36_005);
        // Two more need the two oldest gone.
        let w = wait(&sent, 2, &[minute], at(30_000)).expect("full");
        assert_eq!(w.as_millis(), 46_005);
        // A send just past the robot's own minute still counts…
        assert!(wait(&sent, 1, &[minute], at(60_001)).is_some());
        // …and older sends do not.
        assert_eq!(wait(&sent, 1, &[minute], at(66_001)), None);
    }

    #[test]
    fn every_limit_holds_and_the_longest_wait_wins() {
        // Feishu: 100 a minute and 5 a second.
        let limits = [
            RateLimit {
                count: 100,
                window: Duration::from_secs(60),
            },
            RateLimit {
                count: 5,
                window: Duration::from_secs(1),
            },
        ];
        let sent: Vec<_> = (0..5).map(|i| at(i * 100)).collect();
        let w = wait(&sent, 1, &limits, at(500)).expect("5 in a second");
        assert_eq!(w.as_millis(), 605);
        assert_eq!(wait(&sent, 1, &limits, at(1_101)), None);
        // A message longer than a limit goes once the window is empty.
        assert_eq!(wait(&[], 7, &limits, at(0)), None);
    }

    #[test]
    fn each_kind_has_its_own_limits_scaled_with_the_window() {
        use super::super::robots::Robot;
        let minute = Duration::from_secs(60);
        let per = |count, window| RateLimit { count, window };
        assert_eq!(limits(Some(Robot::Wecom), None, minute), [per(20, minute)]);
        assert_eq!(
            limits(Some(Robot::Dingtalk), None, minute),
            [per(20, minute)]
        );
        assert_eq!(
            limits(Some(Robot::Feishu), None, minute),
            [per(100, minute), per(5, Duration::from_secs(1))]
        );
        assert_eq!(limits(None, None, minute), []);
        assert_eq!(limits(None, Some(30), minute), [per(30, minute)]);
        // Tests scale the minute down: 2 s, and Feishu's second with it.
        let two = Duration::from_secs(2);
        assert_eq!(
            limits(Some(Robot::Feishu), Some(10), two),
            [per(10, two), per(5, two / 60)]
        );
    }
}
