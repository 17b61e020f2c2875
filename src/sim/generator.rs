//! Generated users for sized directories: deterministic (the same seed gives the same people), with managers,
//! titles, departments, photos, guests, disabled accounts and users without mail, in the proportions a scenario
//! asks for.

use super::scenario::{Scenario, UserSpec};

const FIRST: &[&str] = &[
    "Aaron", "Bianca", "Carlos", "Dana", "Elif", "Farah", "Gavin", "Hana", "Ivan", "Jonas", "Keiko", "Liam", "Maya",
    "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Khan", "Lopez",
    "Meyer", "Novak", "Okafor", "Patel", "Quispe", "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Weber", "Yilmaz",
];
const TITLES: &[&str] = &[
    "Service Desk Technician",
    "Systems Engineer",
    "Network Engineer",
    "Account Manager",
    "Project Manager",
    "Dispatcher",
    "Field Technician",
    "Security Analyst",
    "Billing Specialist",
    "Team Lead",
];
const DEPARTMENTS: &[&str] = &["Support", "Engineering", "Sales", "Finance", "Operations", "Security"];

/// SplitMix64: small, fast, and stable across platforms and versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    fn percent(&mut self, p: u8) -> bool {
        self.next() % 100 < u64::from(p)
    }
}

/// The generated users of `scenario` (none unless `directory.generated_users` is set).
pub fn users(scenario: &Scenario) -> Vec<UserSpec> {
    let spec = &scenario.directory;
    let n = spec.generated_users as usize;
    let domain = scenario.tenant.domains.last().cloned().unwrap_or_default();
    let mut rng = Rng(spec.seed);
    // About one manager for every eight people; the first generated user heads them all.
    let managers = (n / 8).max(1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let first = FIRST[rng.below(FIRST.len())];
        let last = LAST[rng.below(LAST.len())];
        let upn = format!("{}.{}{}@{domain}", first.to_lowercase(), last.to_lowercase(), i + 1);
        let manager = if i == 0 || rng.percent(spec.without_manager_percent) {
            None
        } else if i < managers {
            out.first().map(|m: &UserSpec| m.upn.clone())
        } else {
            out.get(rng.below(managers)).map(|m: &UserSpec| m.upn.clone())
        };
        let guest = i > 0 && rng.percent(spec.guests_percent);
        let job_title = (!rng.percent(spec.without_title_percent))
            .then(|| if i < managers { "Team Lead".to_owned() } else { TITLES[rng.below(TITLES.len())].to_owned() });
        // Users without a title usually have no department either (no draw of its own, so the rest of a generated
        // directory stays as it was).
        let department = Some(DEPARTMENTS[rng.below(DEPARTMENTS.len())].to_owned()).filter(|_| job_title.is_some());
        out.push(UserSpec {
            upn,
            display_name: format!("{first} {last}"),
            roles: Vec::new(),
            licenses: vec!["Microsoft 365 Business Standard".to_owned()],
            job_title,
            department,
            manager,
            mail: None,
            enabled: !rng.percent(spec.disabled_percent),
            home_tenant: None,
            note: None,
            photo: rng.percent(spec.photos_percent),
            has_mail: !rng.percent(spec.without_mail_percent),
            guest,
            groups: Vec::new(),
            gdap: false,
            roles_in_graph: true,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario;

    #[test]
    fn generation_is_deterministic_and_proportioned() {
        let mut s = scenario::load("happy").unwrap();
        s.directory.generated_users = 2000;
        let a = users(&s);
        let b = users(&s);
        assert_eq!(a.len(), 2000);
        assert_eq!(a.iter().map(|u| &u.upn).collect::<Vec<_>>(), b.iter().map(|u| &u.upn).collect::<Vec<_>>());
        let share = |f: &dyn Fn(&UserSpec) -> bool| a.iter().filter(|u| f(u)).count() * 100 / a.len();
        assert!((55..=85).contains(&share(&|u| u.photo)), "photos");
        assert!((1..=8).contains(&share(&|u| !u.has_mail)), "without mail");
        assert!((1..=8).contains(&share(&|u| !u.enabled)), "disabled");
        let upns: std::collections::BTreeSet<&str> = a.iter().map(|u| u.upn.as_str()).collect();
        assert_eq!(upns.len(), a.len(), "UPNs are unique");
        assert!(a.iter().filter_map(|u| u.manager.as_deref()).all(|m| upns.contains(m)), "managers exist");
    }
}
