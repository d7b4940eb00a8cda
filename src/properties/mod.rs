//! The resource's properties: parsed from what CloudFormation sends into a typed, validated value.
//!
//! CloudFormation stringifies every scalar ("true", "3"), while SDK-driven callers may send JSON
//! booleans and numbers: both are accepted. Every problem is reported at once, each naming its field.

use serde_json::{Map, Value};
use std::fmt;

pub(crate) use crate::ids::AccountId;
use crate::ids::{is_email, is_parent_id, is_region};

pub(crate) mod reserved;

/// Role that AWS Organizations creates in new accounts, and the usual cross-account role.
pub(crate) const DEFAULT_ROLE_NAME: &str = "OrganizationAccountAccessRole";

/// More names than any AWS partition has regions: a longer list is a mistake, not a wish.
const MAX_REGIONS: usize = 64;

/// Longest excerpt of a rejected value quoted back in an error.
const QUOTE_LIMIT: usize = 64;

/// What `OnDelete` asks Delete to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnDelete {
    Disassociate,
    DisableSecurityHub,
    Retain,
}

/// An account that this resource creates through AWS Organizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewAccount {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) parent_id: Option<String>,
}

/// Which account the resource enrolls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccountSpec {
    Existing(AccountId),
    New(NewAccount),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Properties {
    pub(crate) administrator_account_id: AccountId,
    pub(crate) account: AccountSpec,
    /// Sorted and without duplicates; `None` means "discover".
    pub(crate) regions: Option<Vec<String>>,
    pub(crate) member_role_name: String,
    pub(crate) administrator_role_name: String,
    pub(crate) enable_default_standards: bool,
    pub(crate) on_delete: OnDelete,
    pub(crate) close_account_on_delete: bool,
}

/// One problem with one property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) problem: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Every problem found in a set of properties.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid properties: {}", join(.0))]
pub(crate) struct PropertiesError(pub(crate) Vec<FieldError>);

fn join(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Every property of the resource itself; CloudFormation's own ([`reserved::RESERVED`]) come besides.
pub(crate) const KNOWN: &[&str] = &[
    "AdministratorAccountId",
    "AccountId",
    "AccountName",
    "Email",
    "ParentId",
    "Regions",
    "MemberRoleName",
    "AdministratorRoleName",
    "EnableDefaultStandards",
    "OnDelete",
    "CloseAccountOnDelete",
];

/// How to treat a property the resource does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unknown {
    /// Create and Update: an error naming it.
    Refuse,
    /// Delete: ignored, so that a resource can always be deleted by the properties it was made with.
    Ignore,
}

impl Properties {
    /// Parses `ResourceProperties` (or `OldResourceProperties`) of a Create or Update: a property the
    /// resource does not know is an error that names it.
    pub(crate) fn parse(value: &Value) -> Result<Self, PropertiesError> {
        Self::read(value, Unknown::Refuse).map(|(properties, _)| properties)
    }

    /// Parses the properties of a Delete, or the previous properties of an Update: unknown properties are
    /// ignored and returned, so that the caller can log them.
    pub(crate) fn parse_ignoring_unknown(value: &Value) -> Result<(Self, Vec<String>), PropertiesError> {
        Self::read(value, Unknown::Ignore)
    }

    fn read(value: &Value, unknown: Unknown) -> Result<(Self, Vec<String>), PropertiesError> {
        let empty = Map::new();
        let map = match value {
            Value::Object(map) => map,
            Value::Null => &empty,
            _ => {
                return Err(PropertiesError(vec![FieldError {
                    field: "ResourceProperties".into(),
                    problem: "expected an object".into(),
                }]))
            }
        };
        let mut reader = Reader { map, errors: Vec::new() };
        let ignored = reader.unknown_names();
        if unknown == Unknown::Refuse && !ignored.is_empty() {
            let problem = format!("unknown property; expected one of {}", KNOWN.join(", "));
            reader.fail(&ignored.join(", "), problem);
        }
        let properties = reader.properties();
        match properties {
            Some(properties) if reader.errors.is_empty() => Ok((properties, ignored)),
            _ => Err(PropertiesError(reader.errors)),
        }
    }

    pub(crate) fn creates_account(&self) -> bool {
        matches!(self.account, AccountSpec::New(_))
    }
}

/// Reads fields from the property map and collects every problem on the way.
struct Reader<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Reader<'_> {
    fn fail(&mut self, field: &str, problem: impl Into<String>) {
        self.errors.push(FieldError { field: field.to_owned(), problem: problem.into() });
    }

    /// The names (quoted) that are neither the resource's properties nor CloudFormation's own.
    fn unknown_names(&self) -> Vec<String> {
        let known = |key: &str| KNOWN.contains(&key) || reserved::RESERVED.contains(&key);
        self.map.keys().filter(|key| !known(key)).map(|key| quote(key)).collect()
    }

    fn properties(&mut self) -> Option<Properties> {
        let administrator_account_id = self.required_account_id("AdministratorAccountId");
        let account = self.account_spec();
        let regions = self.regions();
        let member_role_name = self.role_name("MemberRoleName");
        let administrator_role_name = self.role_name("AdministratorRoleName");
        let enable_default_standards = self.boolean("EnableDefaultStandards", true);
        let on_delete = self.on_delete();
        let close_account_on_delete = self.boolean("CloseAccountOnDelete", false);

        if close_account_on_delete == Some(true) && matches!(account, Some(AccountSpec::Existing(_))) {
            self.fail(
                "CloseAccountOnDelete",
                "allowed only for an account this resource creates (AccountName + Email), not with AccountId",
            );
        }
        if let (Some(admin), Some(AccountSpec::Existing(member))) = (&administrator_account_id, &account) {
            if admin == member {
                self.fail("AccountId", "must differ from AdministratorAccountId");
            }
        }
        Some(Properties {
            administrator_account_id: administrator_account_id?,
            account: account?,
            regions: regions?,
            member_role_name: member_role_name?,
            administrator_role_name: administrator_role_name?,
            enable_default_standards: enable_default_standards?,
            on_delete: on_delete?,
            close_account_on_delete: close_account_on_delete?,
        })
    }

    /// A scalar as text: strings as they are, numbers and booleans as CloudFormation would print them.
    fn scalar(&mut self, field: &str) -> Option<Option<String>> {
        match self.map.get(field) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(text)) => Some(Some(text.clone())),
            Some(Value::Number(number)) => Some(Some(number.to_string())),
            Some(Value::Bool(flag)) => Some(Some(flag.to_string())),
            Some(other) => {
                self.fail(field, format!("expected a string, got {}", kind(other)));
                None
            }
        }
    }

    fn required_account_id(&mut self, field: &str) -> Option<AccountId> {
        match self.scalar(field)? {
            None => {
                self.fail(field, "required: the 12-digit id of the Security Hub administrator account");
                None
            }
            Some(text) => self.account_id(field, &text),
        }
    }

    fn account_id(&mut self, field: &str, text: &str) -> Option<AccountId> {
        let id = AccountId::parse(text);
        if id.is_none() {
            self.fail(field, format!("expected a 12-digit AWS account id, got {}", quote(text)));
        }
        id
    }

    fn account_spec(&mut self) -> Option<AccountSpec> {
        let account_id = self.scalar("AccountId")?;
        let name = self.scalar("AccountName")?;
        let email = self.scalar("Email")?;
        let parent_id = self.scalar("ParentId")?;
        match (account_id, name, email) {
            (Some(id), None, None) => {
                if parent_id.is_some() {
                    self.fail("ParentId", "applies only to an account this resource creates (AccountName + Email)");
                }
                self.account_id("AccountId", &id).map(AccountSpec::Existing)
            }
            (None, Some(name), Some(email)) => {
                let name = self.account_name(&name);
                let email = self.email(&email);
                let parent_id = match parent_id {
                    Some(parent) => Some(self.parent_id(&parent)?),
                    None => None,
                };
                Some(AccountSpec::New(NewAccount { name: name?, email: email?, parent_id }))
            }
            (Some(_), _, _) => {
                self.fail(
                    "AccountId",
                    "give either AccountId (an existing account) or AccountName + Email (a new one), not both",
                );
                None
            }
            (None, None, None) => {
                self.fail("AccountId", "required: AccountId, or AccountName + Email to create an account");
                None
            }
            (None, name, _) => {
                let missing = if name.is_none() { "AccountName" } else { "Email" };
                self.fail(missing, "required with AccountName/Email: both are needed to create an account");
                None
            }
        }
    }

    fn account_name(&mut self, name: &str) -> Option<String> {
        let printable = name.chars().all(|c| (' '..='~').contains(&c));
        if name.trim().is_empty() || name.chars().count() > 50 || !printable {
            self.fail("AccountName", format!("expected 1 to 50 printable ASCII characters, got {}", quote(name)));
            return None;
        }
        Some(name.to_owned())
    }

    fn email(&mut self, email: &str) -> Option<String> {
        if !is_email(email) {
            self.fail("Email", format!("expected an email address of 6 to 64 characters, got {}", quote(email)));
            return None;
        }
        Some(email.to_owned())
    }

    fn parent_id(&mut self, parent: &str) -> Option<String> {
        if !is_parent_id(parent) {
            self.fail("ParentId", format!("expected an OU id (ou-…) or a root id (r-…), got {}", quote(parent)));
            return None;
        }
        Some(parent.to_owned())
    }

    fn regions(&mut self) -> Option<Option<Vec<String>>> {
        let names: Vec<String> = match self.map.get("Regions") {
            None | Some(Value::Null) => return Some(None),
            Some(Value::String(text)) => text.split(',').map(|name| name.trim().to_owned()).collect(),
            Some(Value::Array(items)) => {
                let mut names = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(name) => names.push(name.trim().to_owned()),
                        other => {
                            self.fail("Regions", format!("expected region names, got {}", kind(other)));
                            return None;
                        }
                    }
                }
                names
            }
            Some(other) => {
                self.fail("Regions", format!("expected a list of region names, got {}", kind(other)));
                return None;
            }
        };
        let mut names: Vec<String> = names.into_iter().filter(|name| !name.is_empty()).collect();
        if names.is_empty() {
            self.fail("Regions", "expected at least one region name; omit Regions to discover them");
            return None;
        }
        names.sort();
        names.dedup();
        if names.len() > MAX_REGIONS {
            self.fail("Regions", format!("at most {MAX_REGIONS} regions, got {}", names.len()));
            return None;
        }
        let invalid: Vec<String> = names.iter().filter(|name| !is_region(name)).map(|name| quote(name)).collect();
        if !invalid.is_empty() {
            self.fail("Regions", format!("not region names like us-east-1: {}", invalid.join(", ")));
            return None;
        }
        Some(Some(names))
    }

    fn role_name(&mut self, field: &str) -> Option<String> {
        let name = self.scalar(field)?.unwrap_or_else(|| DEFAULT_ROLE_NAME.to_owned());
        let valid =
            (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !valid {
            self.fail(field, format!("expected an IAM role name (1 to 64 of A-Za-z0-9+=,.@_-), got {}", quote(&name)));
            return None;
        }
        Some(name)
    }

    fn boolean(&mut self, field: &str, default: bool) -> Option<bool> {
        match self.scalar(field)? {
            None => Some(default),
            Some(text) if text.eq_ignore_ascii_case("true") => Some(true),
            Some(text) if text.eq_ignore_ascii_case("false") => Some(false),
            Some(text) => {
                self.fail(field, format!("expected true or false, got {}", quote(&text)));
                None
            }
        }
    }

    fn on_delete(&mut self) -> Option<OnDelete> {
        match self.scalar("OnDelete")?.as_deref() {
            None | Some("Disassociate") => Some(OnDelete::Disassociate),
            Some("DisableSecurityHub") => Some(OnDelete::DisableSecurityHub),
            Some("Retain") => Some(OnDelete::Retain),
            Some(other) => {
                self.fail(
                    "OnDelete",
                    format!("expected Disassociate, DisableSecurityHub or Retain, got {}", quote(other)),
                );
                None
            }
        }
    }
}

/// A value quoted back to the user: shortened, with control characters escaped.
fn quote(text: &str) -> String {
    let mut shown: String = text.chars().take(QUOTE_LIMIT).flat_map(char::escape_debug).collect();
    if text.chars().count() > QUOTE_LIMIT {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
