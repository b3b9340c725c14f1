//! Generating a directory from a seed, and the mutation stream.

use super::names::*;
use super::*;
use crate::Size;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng as _};
use std::fmt::Write as _;
use time::Duration;

/// How many objects of each kind a size has.
struct Counts {
    users: usize,
    groups: usize,
    apps: usize,
    devices: usize,
    managed: usize,
}

fn counts(size: Size) -> Counts {
    let (users, groups, apps, devices, managed) = match size {
        Size::Tiny => (10, 4, 3, 5, 5),
        Size::Small => (300, 40, 20, 150, 150),
        Size::Medium => (3_000, 400, 200, 1_500, 1_500),
        Size::Large => (100_000, 20_000, 2_000, 50_000, 50_000),
    };
    Counts {
        users,
        groups,
        apps,
        devices,
        managed,
    }
}

/// A random GUID (version 4 layout) from `rng`.
pub(crate) fn guid(rng: &mut impl Rng) -> String {
    let mut bytes: [u8; 16] = rng.random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn alnum(rng: &mut impl Rng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

fn mac(rng: &mut impl Rng) -> String {
    let bytes: [u8; 6] = rng.random();
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Generates the directory for `size` from `seed`, around the start of today (UTC).
pub fn generate(size: Size, seed: u64) -> Directory {
    let now = OffsetDateTime::now_utc();
    let anchor = now.replace_time(time::Time::MIDNIGHT);
    generate_at(size, seed, anchor)
}

/// Generates the directory for `size` from `seed` with dates spread around `anchor`
/// (same arguments, same directory).
pub fn generate_at(size: Size, seed: u64, anchor: OffsetDateTime) -> Directory {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xd1ec_7047);
    let counts = counts(size);
    let mut dir = Directory {
        anchor,
        ..Directory::default()
    };
    let domain = dir.domain.clone();
    let days_ago =
        |rng: &mut StdRng, max: i64| anchor - Duration::seconds(rng.random_range(0..max * 86_400));

    // Users: index 0 is the CEO; everyone else reports to someone earlier (a shallow tree).
    let mut upns: HashSet<String> = HashSet::with_capacity(counts.users);
    let mut user_ids: Vec<String> = Vec::with_capacity(counts.users);
    let mut user_dept: Vec<u8> = Vec::with_capacity(counts.users);
    let mut user_city: Vec<u8> = Vec::with_capacity(counts.users);
    for i in 0..counts.users {
        let id = guid(&mut rng);
        let given = *GIVEN.choose(&mut rng).unwrap_or(&"Alex");
        let surname = *SURNAMES.choose(&mut rng).unwrap_or(&"Smith");
        let guest = i > 0 && rng.random_bool(0.03);
        let base: String = format!("{given}.{surname}")
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let mut nick = base.clone();
        let mut n = 1;
        while !upns.insert(nick.clone()) {
            n += 1;
            nick = format!("{base}{n}");
        }
        let (upn, mail) = if guest {
            let external = format!("{nick}@fabrikam.com");
            (
                format!("{}#EXT#@{domain}", external.replace('@', "_")),
                Some(external),
            )
        } else {
            let upn = format!("{nick}@{domain}");
            let mail = (!rng.random_bool(0.04)).then(|| upn.clone());
            (upn, mail)
        };
        let dept = rng.random_range(0..DEPARTMENTS.len());
        let city = rng.random_range(0..CITIES.len());
        let (city_name, country, usage, building) = CITIES[city];
        let job = if i == 0 {
            "Chief Executive Officer"
        } else {
            JOB_TITLES.choose(&mut rng).copied().unwrap_or("Analyst")
        };
        let created = days_ago(&mut rng, 5 * 365);
        let manager_id = (i > 0).then(|| {
            let span = (i / 6).max(1);
            user_ids[rng.random_range(0..span)].clone()
        });
        let user = User {
            id: id.clone(),
            display_name: format!("{given} {surname}"),
            given_name: Some(given.to_owned()),
            surname: Some(surname.to_owned()),
            user_principal_name: upn,
            mail,
            mail_nickname: nick,
            job_title: (!guest).then(|| job.to_owned()),
            department: (!guest).then(|| DEPARTMENTS[dept].to_owned()),
            office_location: (!guest && rng.random_bool(0.9))
                .then(|| format!("{building}/{}", rng.random_range(1000..3999))),
            city: (!guest).then(|| city_name.to_owned()),
            country: (!guest).then(|| country.to_owned()),
            usage_location: Some(usage.to_owned()),
            company_name: (!guest).then(|| "Contoso".to_owned()),
            mobile_phone: rng
                .random_bool(0.6)
                .then(|| format!("+1 425 555 {:04}", rng.random_range(0..10_000))),
            business_phones: if rng.random_bool(0.7) {
                vec![format!("+1 206 555 {:04}", rng.random_range(0..10_000))]
            } else {
                Vec::new()
            },
            employee_id: (!guest).then(|| format!("E{:06}", i + 1)),
            employee_type: Some(if guest { "Contractor" } else { "Employee" }.to_owned()),
            preferred_language: Some("en-US".to_owned()),
            account_enabled: i == 0 || !rng.random_bool(0.05),
            user_type: if guest { "Guest" } else { "Member" }.to_owned(),
            created,
            last_password_change: created + Duration::days(rng.random_range(0..30)),
            on_premises_sync_enabled: rng.random_bool(0.3).then_some(true),
            manager_id: if guest { None } else { manager_id },
        };
        user_ids.push(id);
        user_dept.push(dept as u8);
        user_city.push(city as u8);
        dir.users.insert(user);
    }
    let member_count = dir.users.iter().filter(|u| u.user_type == "Member").count();

    // Groups: "All employees" (dynamic), one per department and city, then teams of mostly a
    // handful of people, some hundreds, a few thousands; some nest earlier groups.
    let mut group_ids: Vec<String> = Vec::with_capacity(counts.groups);
    let pick_owners = |rng: &mut StdRng| -> Vec<String> {
        (0..rng.random_range(1..=2))
            .map(|_| user_ids[rng.random_range(0..user_ids.len())].clone())
            .collect()
    };
    for g in 0..counts.groups {
        let id = guid(&mut rng);
        let created = days_ago(&mut rng, 6 * 365);
        let mut group = Group {
            id: id.clone(),
            display_name: String::new(),
            description: None,
            mail: None,
            mail_nickname: String::new(),
            mail_enabled: false,
            security_enabled: true,
            group_types: Vec::new(),
            membership_rule: None,
            visibility: None,
            created,
            on_premises_sync_enabled: None,
            members: Vec::new(),
            owners: Vec::new(),
        };
        let depts = DEPARTMENTS.len().min(counts.groups.saturating_sub(1));
        let cities = CITIES
            .len()
            .min(counts.groups.saturating_sub(1 + depts) / 2);
        if g == 0 {
            group.display_name = "All employees".into();
            group.description = Some("Every member user in the organization".into());
            group.group_types = vec!["DynamicMembership".into()];
            group.membership_rule = Some("(user.userType -eq \"Member\")".into());
            group.members = dir
                .users
                .iter()
                .filter(|u| u.user_type == "Member")
                .map(|u| Member::user(&u.id))
                .collect();
            debug_assert_eq!(group.members.len(), member_count);
        } else if g <= depts && counts.groups > 4 {
            let dept = g - 1;
            group.display_name = format!("Dept - {}", DEPARTMENTS[dept]);
            group.description = Some(format!("Members of the {} department", DEPARTMENTS[dept]));
            group.members = user_ids
                .iter()
                .zip(&user_dept)
                .filter(|(_, d)| usize::from(**d) == dept)
                .map(|(id, _)| Member::user(id))
                .collect();
            group.owners = pick_owners(&mut rng);
        } else if g > depts && g <= depts + cities && counts.groups > 4 {
            let city = g - depts - 1;
            group.display_name = format!("Office - {}", CITIES[city].0);
            group.description = Some(format!("Everyone based in {}", CITIES[city].0));
            group.members = user_ids
                .iter()
                .zip(&user_city)
                .filter(|(_, c)| usize::from(**c) == city)
                .map(|(id, _)| Member::user(id))
                .collect();
            group.mail_enabled = true;
            group.security_enabled = false;
        } else {
            let project = PROJECTS.choose(&mut rng).copied().unwrap_or("Phoenix");
            let kind = TEAM_KINDS.choose(&mut rng).copied().unwrap_or("Team");
            group.display_name = if counts.groups > 200 {
                format!("{kind} {project} {g}")
            } else {
                format!("{kind} {project}")
            };
            group.description = Some(format!("{kind} {project} collaboration space"));
            let roll: f64 = rng.random();
            let size = if roll < 0.80 {
                rng.random_range(2..=15)
            } else if roll < 0.98 {
                rng.random_range(15..=200)
            } else {
                rng.random_range(200..=2_000)
            }
            .min(user_ids.len());
            let mut chosen: HashSet<usize> = HashSet::with_capacity(size);
            while chosen.len() < size {
                chosen.insert(rng.random_range(0..user_ids.len()));
            }
            let mut chosen: Vec<usize> = chosen.into_iter().collect();
            chosen.sort_unstable();
            group.members = chosen.iter().map(|&i| Member::user(&user_ids[i])).collect();
            let nested = g > 1 && (g + 1 == counts.groups || rng.random_bool(0.08));
            if nested {
                let low = (depts + cities + 1).min(g - 1);
                let target = rng.random_range(low.max(1)..g);
                group.members.push(Member::group(&group_ids[target]));
            }
            let roll: f64 = rng.random();
            if roll < 0.4 {
                group.group_types = vec!["Unified".into()];
                group.mail_enabled = true;
                group.visibility = Some(
                    if rng.random_bool(0.8) {
                        "Private"
                    } else {
                        "Public"
                    }
                    .into(),
                );
            } else if roll < 0.5 {
                group.mail_enabled = true;
                group.security_enabled = false;
            }
            group.owners = pick_owners(&mut rng);
        }
        group.mail_nickname = group
            .display_name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        if group.mail_enabled {
            group.mail = Some(format!("{}@{domain}", group.mail_nickname));
        }
        group_ids.push(id);
        dir.groups.insert(group);
    }

    // App registrations: Crosswalk Sync first, then others with secrets and certificates,
    // some expired, some expiring within a month.
    for a in 0..counts.apps {
        let id = guid(&mut rng);
        let app_id = guid(&mut rng);
        let created = days_ago(&mut rng, 4 * 365);
        let mut app = Application {
            id,
            app_id,
            display_name: String::new(),
            description: None,
            sign_in_audience: "AzureADMyOrg".into(),
            publisher_domain: domain.clone(),
            created,
            password_credentials: Vec::new(),
            key_credentials: Vec::new(),
            owners: (0..rng.random_range(0..=2))
                .map(|_| user_ids[rng.random_range(0..user_ids.len())].clone())
                .collect(),
        };
        if a == 0 {
            app.app_id = crate::identity::CLIENT_ID.to_owned();
            app.display_name = "Crosswalk Sync".into();
            app.description = Some("Syncs Entra ID and Dataverse with Jira and Assets".into());
            app.password_credentials.push(PasswordCredential {
                key_id: crate::identity::CLIENT_SECRET_ID.to_owned(),
                display_name: Some("crosswalk".into()),
                hint: Some(crate::identity::CLIENT_SECRET[..3].to_owned()),
                start: anchor - Duration::days(300),
                end: anchor + Duration::days(430),
            });
        } else {
            let base = APPS[(a - 1) % APPS.len()];
            app.display_name = if a > APPS.len() {
                format!("{base} {}", a / APPS.len() + 1)
            } else {
                base.to_owned()
            };
            let expiry = |rng: &mut StdRng| -> (OffsetDateTime, OffsetDateTime) {
                let roll: f64 = rng.random();
                let end = if roll < 0.15 {
                    anchor - Duration::days(rng.random_range(1..300))
                } else if roll < 0.30 {
                    anchor
                        + Duration::days(rng.random_range(0..30))
                        + Duration::hours(rng.random_range(1..24))
                } else {
                    anchor + Duration::days(rng.random_range(60..730))
                };
                (end - Duration::days(rng.random_range(180..730)), end)
            };
            for s in 0..rng.random_range(0..=3) {
                let (start, end) = expiry(&mut rng);
                let key_id = guid(&mut rng);
                app.password_credentials.push(PasswordCredential {
                    hint: Some(alnum(&mut rng, 3).to_lowercase()),
                    key_id,
                    display_name: Some(if s == 0 {
                        "prod".into()
                    } else {
                        format!("secret {}", s + 1)
                    }),
                    start,
                    end,
                });
            }
            if rng.random_bool(0.3) {
                let (start, end) = expiry(&mut rng);
                let thumb: [u8; 20] = rng.random();
                use base64::Engine as _;
                app.key_credentials.push(KeyCredential {
                    key_id: guid(&mut rng),
                    display_name: Some(format!("CN={}", app.display_name)),
                    custom_key_identifier: base64::engine::general_purpose::STANDARD.encode(thumb),
                    start,
                    end,
                    key_type: "AsymmetricX509Cert".into(),
                    usage: "Verify".into(),
                });
            }
        }
        dir.applications.insert(app);
    }

    // Entra devices, and their Intune managed counterparts (device i ↔ managed device i).
    for d in 0..counts.devices.max(counts.managed) {
        let owner = rng.random_range(0..user_ids.len());
        let owner_user = dir.users.get(&user_ids[owner]).cloned();
        let (entra_os, intune_os, manufacturer, model, version) =
            *DEVICE_KINDS.choose(&mut rng).unwrap_or(&DEVICE_KINDS[0]);
        let given = owner_user
            .as_ref()
            .and_then(|u| u.given_name.clone())
            .unwrap_or_else(|| "Shared".into());
        let name = match intune_os {
            "Windows" => format!("LAPTOP-{}", alnum(&mut rng, 7)),
            "macOS" => format!("{given}'s MacBook"),
            "iOS" => format!("{given}'s iPhone"),
            _ => format!("{given}'s {model}"),
        };
        let registration = days_ago(&mut rng, 3 * 365);
        let id = guid(&mut rng);
        let device_id = guid(&mut rng);
        let managed = d < counts.managed;
        if d < counts.devices {
            dir.devices.insert(Device {
                id,
                device_id: device_id.clone(),
                display_name: name.clone(),
                operating_system: entra_os.to_owned(),
                operating_system_version: version.to_owned(),
                trust_type: Some(
                    match intune_os {
                        "Windows" if rng.random_bool(0.3) => "ServerAd",
                        "Windows" => "AzureAd",
                        _ => "Workplace",
                    }
                    .to_owned(),
                ),
                account_enabled: !rng.random_bool(0.03),
                is_compliant: managed.then(|| !rng.random_bool(0.1)),
                is_managed: Some(managed),
                manufacturer: Some(manufacturer.to_owned()),
                model: Some(model.to_owned()),
                registration,
                approximate_last_sign_in: Some(
                    anchor - Duration::minutes(rng.random_range(1..60 * 24 * 60)),
                ),
                profile_type: "RegisteredDevice".into(),
                on_premises_sync_enabled: None,
                owner_id: owner_user.as_ref().map(|u| u.id.clone()),
            });
        }
        if managed {
            let roll: f64 = rng.random();
            let compliance = if roll < 0.85 {
                "compliant"
            } else if roll < 0.95 {
                "noncompliant"
            } else if roll < 0.98 {
                "inGracePeriod"
            } else {
                "unknown"
            };
            let mobile = matches!(intune_os, "iOS" | "Android");
            let total: i64 = if mobile {
                128_000_000_000
            } else {
                512_000_000_000
            };
            let nick = owner_user
                .as_ref()
                .map(|u| u.mail_nickname.clone())
                .unwrap_or_default();
            dir.managed_devices.insert(ManagedDevice {
                id: guid(&mut rng),
                device_name: name,
                managed_device_name: format!("{nick}_{intune_os}_{}", registration.date()),
                serial_number: alnum(&mut rng, 10),
                manufacturer: manufacturer.to_owned(),
                model: model.to_owned(),
                operating_system: intune_os.to_owned(),
                os_version: version.to_owned(),
                compliance_state: compliance.to_owned(),
                last_sync: anchor - Duration::minutes(rng.random_range(1..60 * 24 * 30)),
                enrolled: registration + Duration::minutes(rng.random_range(1..120)),
                user_id: owner_user.as_ref().map(|u| u.id.clone()),
                user_principal_name: owner_user.as_ref().map(|u| u.user_principal_name.clone()),
                user_display_name: owner_user.as_ref().map(|u| u.display_name.clone()),
                email_address: owner_user.as_ref().and_then(|u| u.mail.clone()),
                azure_ad_device_id: device_id,
                owner_type: if rng.random_bool(0.85) {
                    "company"
                } else {
                    "personal"
                }
                .to_owned(),
                management_agent: "mdm".into(),
                enrollment_type: match intune_os {
                    "Windows" => "windowsAzureADJoin",
                    "iOS" | "macOS" => "appleBulkWithUser",
                    _ => "androidEnterpriseFullyManaged",
                }
                .to_owned(),
                is_encrypted: !rng.random_bool(0.05),
                is_supervised: intune_os == "iOS",
                imei: mobile
                    .then(|| format!("35{:013}", rng.random_range(0..10_000_000_000_000u64))),
                wifi_mac: Some(mac(&mut rng)),
                ethernet_mac: (!mobile).then(|| mac(&mut rng)),
                phone_number: mobile
                    .then(|| format!("+1 425 555 {:04}", rng.random_range(0..10_000))),
                total_storage: total,
                free_storage: rng.random_range(total / 10..total - total / 10),
                physical_memory: if mobile {
                    8_589_934_592
                } else {
                    17_179_869_184
                },
                device_category: "Unknown".into(),
            });
        }
    }
    dir
}

/// A live object of a table picked at random (tombstones skipped).
fn pick<'a, T: Keyed>(table: &'a Table<T>, rng: &mut StdRng) -> Option<&'a T> {
    if table.is_empty() {
        return None;
    }
    for _ in 0..32 {
        if let Some(item) = table.at(rng.random_range(0..table.slots())) {
            return Some(item);
        }
    }
    table.iter().nth(rng.random_range(0..table.len()))
}

/// Whether a group is a team group the stream may change (not dynamic, not department/office).
fn is_team(group: &Group) -> bool {
    group.membership_rule.is_none()
        && !group.display_name.starts_with("Dept - ")
        && !group.display_name.starts_with("Office - ")
}

pub(super) fn mutate(dir: &mut Directory, rng_seed: u64, n: usize) -> Vec<Mutation> {
    let mut rng = StdRng::seed_from_u64(rng_seed ^ 0x6d75_7461_7465);
    let mut done = Vec::with_capacity(n);
    let mut attempts = 0;
    while done.len() < n && attempts < n * 20 + 20 {
        attempts += 1;
        let roll = rng.random_range(0..100);
        let step = match roll {
            0..15 => {
                let given = GIVEN.choose(&mut rng).copied().unwrap_or("Alex");
                let surname = SURNAMES.choose(&mut rng).copied().unwrap_or("Smith");
                let dept = DEPARTMENTS.choose(&mut rng).copied().unwrap_or("IT");
                let job = JOB_TITLES.choose(&mut rng).copied().unwrap_or("Analyst");
                let manager = pick(&dir.users, &mut rng).map(|u| u.id.clone());
                let id = dir.add_user(&format!("{given} {surname}"));
                dir.update_user(&id, |u| {
                    u.department = Some(dept.to_owned());
                    u.job_title = Some(job.to_owned());
                });
                dir.set_manager(&id, manager.as_deref());
                // Joiners of a department join its group.
                let dept_group = dir
                    .groups
                    .iter()
                    .find(|g| g.display_name.strip_prefix("Dept - ") == Some(dept))
                    .map(|g| g.id.clone());
                if let Some(group) = dept_group {
                    dir.add_member(&group, Member::user(&id));
                }
                Some(Mutation::Joiner { user: id })
            }
            15..25 => {
                let user = pick(&dir.users, &mut rng).map(|u| u.id.clone());
                user.filter(|u| dir.users.len() > 2 && dir.delete_user(u))
                    .map(|user| Mutation::Leaver { user })
            }
            25..45 => {
                let user = pick(&dir.users, &mut rng).map(|u| u.id.clone());
                let which = rng.random_range(0..3);
                let surname = SURNAMES.choose(&mut rng).copied().unwrap_or("Smith");
                let dept = DEPARTMENTS.choose(&mut rng).copied().unwrap_or("IT");
                let job = JOB_TITLES.choose(&mut rng).copied().unwrap_or("Analyst");
                user.and_then(|user| {
                    let before = dir.users.get(&user)?.clone();
                    dir.update_user(&user, |u| match which {
                        0 => {
                            let given = u.given_name.clone().unwrap_or_default();
                            u.display_name = format!("{given} {surname}");
                            u.surname = Some(surname.to_owned());
                        }
                        1 => u.job_title = Some(job.to_owned()),
                        _ => u.department = Some(dept.to_owned()),
                    });
                    let after = dir.users.get(&user)?;
                    let fields = user_diff(&before, after);
                    (!fields.is_empty()).then_some(Mutation::Renamed { user, fields })
                })
            }
            45..55 => {
                let user = pick(&dir.users, &mut rng).map(|u| u.id.clone());
                let manager = pick(&dir.users, &mut rng).map(|u| u.id.clone());
                match (user, manager) {
                    (Some(user), Some(manager)) if user != manager => {
                        let same = dir.users.get(&user).and_then(|u| u.manager_id.clone())
                            == Some(manager.clone());
                        (!same && dir.set_manager(&user, Some(&manager))).then_some(
                            Mutation::ManagerChanged {
                                user,
                                manager: Some(manager),
                            },
                        )
                    }
                    _ => None,
                }
            }
            55..70 => {
                let group = pick(&dir.groups, &mut rng)
                    .filter(|g| is_team(g))
                    .map(|g| g.id.clone());
                let user = pick(&dir.users, &mut rng).map(|u| u.id.clone());
                match (group, user) {
                    (Some(group), Some(member)) => dir
                        .add_member(&group, Member::user(&member))
                        .then_some(Mutation::MemberAdded { group, member }),
                    _ => None,
                }
            }
            70..80 => pick(&dir.groups, &mut rng)
                .filter(|g| is_team(g) && !g.members.is_empty())
                .map(|g| {
                    let member = g.members[rng.random_range(0..g.members.len())].id.clone();
                    (g.id.clone(), member)
                })
                .filter(|(group, member)| dir.remove_member(group, member))
                .map(|(group, member)| Mutation::MemberRemoved { group, member }),
            80..84 => {
                let project = PROJECTS.choose(&mut rng).copied().unwrap_or("Nova");
                let serial = dir.serial + 1;
                let group = dir.add_group(&format!("Team {project} N{serial}"));
                for _ in 0..rng.random_range(1..=4) {
                    if let Some(user) = pick(&dir.users, &mut rng).map(|u| u.id.clone()) {
                        dir.add_member(&group, Member::user(&user));
                    }
                }
                Some(Mutation::GroupCreated { group })
            }
            84..87 => pick(&dir.groups, &mut rng)
                .filter(|g| is_team(g))
                .map(|g| g.id.clone())
                .filter(|g| dir.delete_group(g))
                .map(|group| Mutation::GroupDeleted { group }),
            87..92 => pick(&dir.users, &mut rng)
                .map(|u| u.id.clone())
                .and_then(|u| dir.enrol_device(&u))
                .map(|(device, managed_device)| Mutation::DeviceEnrolled {
                    device,
                    managed_device,
                }),
            92..95 => pick(&dir.managed_devices, &mut rng)
                .map(|d| d.id.clone())
                .filter(|d| dir.retire_managed_device(d))
                .map(|managed_device| Mutation::DeviceRetired { managed_device }),
            95..98 => {
                let now = OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .unwrap_or(dir.anchor);
                pick(&dir.managed_devices, &mut rng)
                    .map(|d| d.id.clone())
                    .filter(|d| dir.update_managed_device(d, |m| m.last_sync = now))
                    .map(|managed_device| Mutation::DeviceCheckedIn { managed_device })
            }
            _ => pick(&dir.applications, &mut rng)
                .filter(|a| a.app_id != crate::identity::CLIENT_ID)
                .map(|a| a.id.clone())
                .and_then(|app| {
                    let days = rng.random_range(180..730);
                    dir.rotate_secret(&app, days)
                        .map(|key_id| Mutation::SecretRotated {
                            application: app,
                            key_id,
                        })
                }),
        };
        if let Some(step) = step {
            done.push(step);
        }
    }
    done
}
