//! The OCI trust policy document (`trustpolicy.oci.json`, or the older `trustpolicy.json`,
//! which has the same schema) and the decisions drawn from it: which statement applies to a
//! repository, what each validation step's action is, and whether a leaf certificate carries a
//! trusted identity (NOTARY-VERIFY §5.3, §6.2, §6.3).
//!
//! The document is checked completely when it is loaded, so that a bad policy fails before any
//! image is verified, and the checked types below cannot be built any other way. We follow
//! notation-go's validation rules, and are stricter where notation's JSON decoding is lax:
//! unknown fields, duplicate keys, `null` and trailing data are errors here. The bytes are
//! parsed by the core's one strict JSON reader ([`super::json`]), which finds duplicate keys,
//! trailing data and nesting too deep; this module walks the tree in document order and names
//! the JSON path of the first problem.

use core::fmt;
use std::collections::HashMap;

use x509_cert::name::Name;

use super::dn::{DistinguishedName, DnError, render_go_style};
use super::json::{
    JsonError, KeyProblem, Node, Object, element_path, member_path, tree_with_limit,
};

/// Largest policy document we read, in bytes (1 MiB).
///
/// notation reads the file without a limit. Its e2e policies are under 1 KiB and a typical
/// statement is 200–400 bytes, so 1 MiB holds thousands of statements, far more than any real
/// deployment, while bounding the memory the parsed document takes and the work validation does.
pub const MAX_TRUST_POLICY_BYTES: usize = 1024 * 1024;

/// Most JSON values the parser accepts in a policy document: more than a document within
/// [`MAX_TRUST_POLICY_BYTES`] can hold, so that a policy is never refused for its number of
/// values, which would hide what is wrong with it.
///
/// Every value the parser counts begins at a byte of its own, except one missing where the
/// input ends (parsing fails there), so `n` bytes give at most `n + 1` values. The byte limit
/// is the real bound: a complete document needs a `,` or `:` before every value after the
/// first in its container, so 1 MiB holds about 512 Ki values, and a parsed value is 32 bytes:
/// 16 MiB (up to twice that with the arrays' spare capacity).
pub const MAX_TRUST_POLICY_VALUES: usize = MAX_TRUST_POLICY_BYTES + 2;

/// Most `trustedIdentities` one statement may list.
///
/// notation has no limit, but its overlap check compares every pair of identities; 1024 keeps
/// that at about a million cheap comparisons. Real statements pin a handful of subjects.
pub const MAX_TRUSTED_IDENTITIES_PER_STATEMENT: usize = 1024;

/// The only document version notation understands.
const SUPPORTED_VERSION: &str = "1.0";

/// The identity that accepts any leaf certificate.
const WILDCARD: &str = "*";

/// The only identity prefix notation evaluates natively.
const X509_SUBJECT_PREFIX: &str = "x509.subject";

// ---------------------------------------------------------------------------------------------
// Vocabulary (the spec's words).
// ---------------------------------------------------------------------------------------------

/// A preset of actions for the five validation steps (NOTARY-VERIFY §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerificationLevel {
    /// Every step is enforced.
    Strict,
    /// Integrity and authenticity are enforced; the rest is logged.
    Permissive,
    /// Only integrity is enforced, so an untrusted signature is accepted: warn-only mode.
    Audit,
    /// Nothing is verified and no signature is fetched.
    Skip,
}

impl VerificationLevel {
    /// Parses the `level` value; `None` for anything notation does not know.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "strict" => Some(Self::Strict),
            "permissive" => Some(Self::Permissive),
            "audit" => Some(Self::Audit),
            "skip" => Some(Self::Skip),
            _ => None,
        }
    }

    /// The spelling used in the policy document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Permissive => "permissive",
            Self::Audit => "audit",
            Self::Skip => "skip",
        }
    }

    /// The action this level gives a step before any override (the §6.3 table).
    pub fn default_action(self, validation: ValidationType) -> ValidationAction {
        use ValidationAction::{Enforce, Log, Skip};
        match (self, validation) {
            (Self::Skip, _) => Skip,
            (_, ValidationType::Integrity) | (Self::Strict, _) => Enforce,
            (Self::Permissive, ValidationType::Authenticity) => Enforce,
            (Self::Permissive | Self::Audit, _) => Log,
        }
    }
}

impl fmt::Display for VerificationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the five checks a signature goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValidationType {
    /// The signature, envelope and certificate chain are well formed and verify.
    Integrity,
    /// The chain reaches a trust store and the leaf carries a trusted identity.
    Authenticity,
    /// The timestamp checks, including "signing certificate expired now".
    AuthenticTimestamp,
    /// The signature's own expiry (`io.cncf.notary.expiry`).
    Expiry,
    /// OCSP / CRL status of the chain.
    Revocation,
}

impl ValidationType {
    /// All five, in notation's verification order.
    pub const ALL: [Self; 5] = [
        Self::Integrity,
        Self::Authenticity,
        Self::AuthenticTimestamp,
        Self::Expiry,
        Self::Revocation,
    ];

    /// Parses an `override` key; `None` for anything notation does not know.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The spelling used in the policy document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integrity => "integrity",
            Self::Authenticity => "authenticity",
            Self::AuthenticTimestamp => "authenticTimestamp",
            Self::Expiry => "expiry",
            Self::Revocation => "revocation",
        }
    }
}

impl fmt::Display for ValidationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens when a validation step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationAction {
    /// The failure ends this signature's verification.
    Enforce,
    /// The failure is recorded and the checks continue.
    Log,
    /// The step is not run.
    Skip,
}

impl ValidationAction {
    /// Parses an `override` value; `None` for anything notation does not know.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "enforce" => Some(Self::Enforce),
            "log" => Some(Self::Log),
            "skip" => Some(Self::Skip),
            _ => None,
        }
    }

    /// The spelling used in the policy document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Log => "log",
            Self::Skip => "skip",
        }
    }
}

impl fmt::Display for ValidationAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a `notary.x509` timestamp countersignature is verified (given a `tsa` store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VerifyTimestamp {
    /// Always (the default).
    #[default]
    Always,
    /// Only when a certificate of the signing chain has expired.
    AfterCertExpiry,
}

impl VerifyTimestamp {
    /// Parses `verifyTimestamp`; the empty string is `always`, as notation treats it.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "" | "always" => Some(Self::Always),
            "afterCertExpiry" => Some(Self::AfterCertExpiry),
            _ => None,
        }
    }

    /// The spelling used in the policy document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::AfterCertExpiry => "afterCertExpiry",
        }
    }
}

impl fmt::Display for VerifyTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use super::trust_store::TrustStoreType;

/// A `type:name` reference to a named trust store, with a name that is safe as a directory name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrustStoreRef {
    store_type: TrustStoreType,
    name: String,
}

impl TrustStoreRef {
    /// Which kind of store.
    pub fn store_type(&self) -> TrustStoreType {
        self.store_type
    }

    /// The named store (matches `[a-zA-Z0-9_.-]+` and is neither `.` nor `..`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for TrustStoreRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.store_type, self.name)
    }
}

/// Which leaf certificates a statement accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedIdentities {
    /// `"*"`: any leaf.
    Any,
    /// The `x509.subject:` entries. Empty when every entry had another prefix; such a
    /// statement then matches nothing ("no x509 trusted identities configured").
    Subjects(Vec<DistinguishedName>),
}

impl TrustedIdentities {
    /// Subset-matches the leaf subject against the identities, as notation does (§5.3).
    pub fn check(&self, leaf_subject: &Name) -> Result<(), IdentityError> {
        let subjects = match self {
            Self::Any => return Ok(()),
            Self::Subjects(subjects) if subjects.is_empty() => {
                return Err(IdentityError::NoX509Identities);
            }
            Self::Subjects(subjects) => subjects,
        };
        let leaf = DistinguishedName::from_certificate_name(leaf_subject).map_err(|source| {
            IdentityError::UnparsableLeafSubject {
                subject: render_go_style(leaf_subject),
                source,
            }
        })?;
        let mut mismatches = Vec::with_capacity(subjects.len());
        for identity in subjects {
            match identity.first_difference(&leaf) {
                None => return Ok(()),
                Some((attribute, leaf_value)) => mismatches.push(IdentityMismatch {
                    identity: identity.clone(),
                    attribute: attribute.to_owned(),
                    leaf_value: leaf_value.map(str::to_owned),
                }),
            }
        }
        Err(IdentityError::NoMatch {
            subject: render_go_style(leaf_subject),
            mismatches,
        })
    }
}

/// Why a leaf certificate does not carry a trusted identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The statement lists neither `*` nor any `x509.subject:` identity (only other prefixes,
    /// which notation leaves to plugins), so nothing can match.
    #[error("no x509 trusted identities configured")]
    NoX509Identities,
    /// notation's parser refuses the leaf subject as Go prints it (a repeated attribute type,
    /// an `OID=#…` attribute such as emailAddress, or C/ST/O missing), so only `*` could match.
    #[error(
        "leaf certificate subject \"{subject}\" cannot be matched against x509.subject \
         identities: {source}"
    )]
    UnparsableLeafSubject {
        /// The leaf subject as Go's `pkix.Name.String()` prints it.
        subject: String,
        /// Why the parser refused it.
        #[source]
        source: DnError,
    },
    /// No identity is a subset of the leaf subject.
    #[error(
        "leaf certificate subject \"{subject}\" matches none of the x509.subject trusted \
         identities: {}",
        list_mismatches(.mismatches)
    )]
    NoMatch {
        /// The leaf subject as Go's `pkix.Name.String()` prints it.
        subject: String,
        /// For each identity, the first attribute that differs.
        mismatches: Vec<IdentityMismatch>,
    },
}

/// Why one identity did not match: the first of its attributes the leaf lacks or differs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityMismatch {
    /// The trusted identity that was tried.
    pub identity: DistinguishedName,
    /// Its first attribute the leaf does not share.
    pub attribute: String,
    /// The leaf's value for that attribute, if it has one.
    pub leaf_value: Option<String>,
}

impl fmt::Display for IdentityMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.leaf_value {
            Some(value) => write!(
                f,
                "\"{}\" (leaf has {}={value:?})",
                self.identity, self.attribute
            ),
            None => write!(f, "\"{}\" (leaf has no {})", self.identity, self.attribute),
        }
    }
}

fn list_mismatches(mismatches: &[IdentityMismatch]) -> String {
    mismatches
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------------------------
// The checked document.
// ---------------------------------------------------------------------------------------------

/// A validated trust policy document. Only [`TrustPolicyDocument::from_json`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicyDocument {
    version: String,
    trust_policies: Vec<TrustPolicy>,
}

/// One validated statement of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    name: String,
    registry_scopes: Vec<String>,
    signature_verification: SignatureVerification,
    trust_stores: Vec<TrustStoreRef>,
    trusted_identities: TrustedIdentities,
    ignored_identities: Vec<String>,
}

/// The `signatureVerification` object of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureVerification {
    level: VerificationLevel,
    overrides: Overrides,
    verify_timestamp: VerifyTimestamp,
}

/// Per-step replacements for the level's actions. Integrity has no slot: it cannot be
/// overridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overrides {
    authenticity: Option<ValidationAction>,
    authentic_timestamp: Option<ValidationAction>,
    expiry: Option<ValidationAction>,
    revocation: Option<ValidationAction>,
}

impl Overrides {
    /// The configured override for a step, if any.
    pub fn get(&self, validation: ValidationType) -> Option<ValidationAction> {
        match validation {
            ValidationType::Integrity => None,
            ValidationType::Authenticity => self.authenticity,
            ValidationType::AuthenticTimestamp => self.authentic_timestamp,
            ValidationType::Expiry => self.expiry,
            ValidationType::Revocation => self.revocation,
        }
    }

    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        ValidationType::ALL.iter().all(|v| self.get(*v).is_none())
    }

    fn slot(&mut self, validation: ValidationType) -> Option<&mut Option<ValidationAction>> {
        match validation {
            ValidationType::Integrity => None,
            ValidationType::Authenticity => Some(&mut self.authenticity),
            ValidationType::AuthenticTimestamp => Some(&mut self.authentic_timestamp),
            ValidationType::Expiry => Some(&mut self.expiry),
            ValidationType::Revocation => Some(&mut self.revocation),
        }
    }
}

impl SignatureVerification {
    /// The preset level.
    pub fn level(&self) -> VerificationLevel {
        self.level
    }

    /// The configured overrides (always empty at `skip`).
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// When the timestamp is verified.
    pub fn verify_timestamp(&self) -> VerifyTimestamp {
        self.verify_timestamp
    }
}

impl TrustPolicyDocument {
    /// Parses and validates a `trustpolicy.oci.json` / `trustpolicy.json` document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PolicyError> {
        if bytes.len() > MAX_TRUST_POLICY_BYTES {
            return Err(PolicyError::TooLarge {
                size: bytes.len(),
                limit: MAX_TRUST_POLICY_BYTES,
            });
        }
        let root =
            tree_with_limit(bytes, MAX_TRUST_POLICY_VALUES).map_err(PolicyError::MalformedJson)?;
        build_document(&root)
    }

    /// The document version (always `1.0`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The statements, in document order.
    pub fn trust_policies(&self) -> &[TrustPolicy] {
        &self.trust_policies
    }

    /// The statement for a normalised `registry/repository`: an exact scope wins, then `*`.
    /// A name that is not `domain/repository` is refused, as notation refuses it: otherwise a
    /// tag, an upper-case letter or a trailing `/` would miss its own statement and fall
    /// through to `*`.
    pub fn policy_for(&self, scope: &str) -> Result<&TrustPolicy, PolicyError> {
        check_scope(scope).map_err(|problem| PolicyError::InvalidArtifactScope {
            scope: scope.chars().take(300).collect(),
            problem,
        })?;
        self.trust_policies
            .iter()
            .find(|p| p.registry_scopes.iter().any(|s| s == scope))
            .or_else(|| self.trust_policies.iter().find(|p| p.is_global()))
            .ok_or_else(|| PolicyError::NoApplicableTrustPolicy {
                scope: scope.to_owned(),
            })
    }
}

impl TrustPolicy {
    /// The statement's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The repositories it covers, or `["*"]`.
    pub fn registry_scopes(&self) -> &[String] {
        &self.registry_scopes
    }

    /// Level, overrides and timestamp option.
    pub fn signature_verification(&self) -> &SignatureVerification {
        &self.signature_verification
    }

    /// The named stores it trusts (empty only at `skip`).
    pub fn trust_stores(&self) -> &[TrustStoreRef] {
        &self.trust_stores
    }

    /// Which leaves it accepts.
    pub fn trusted_identities(&self) -> &TrustedIdentities {
        &self.trusted_identities
    }

    /// Identities with a prefix other than `x509.subject`; notation leaves them to plugins and
    /// so do we (they never match), but reports should show them.
    pub fn ignored_identities(&self) -> &[String] {
        &self.ignored_identities
    }

    /// True for the `*` statement. A global `skip` statement turns verification off for every
    /// repository without its own statement, so callers should warn about it.
    pub fn is_global(&self) -> bool {
        self.registry_scopes.iter().any(|s| s == WILDCARD)
    }

    /// The action for a step: the level's table entry, replaced by an override if one is set.
    pub fn action(&self, validation: ValidationType) -> ValidationAction {
        let sv = &self.signature_verification;
        match (sv.level, validation) {
            (VerificationLevel::Skip, _) => ValidationAction::Skip,
            (_, ValidationType::Integrity) => ValidationAction::Enforce,
            (level, validation) => sv
                .overrides
                .get(validation)
                .unwrap_or_else(|| level.default_action(validation)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------------

/// Names a statement in errors: by its name when it has a usable one, else by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementRef {
    /// The statement's `name`.
    Named(String),
    /// Zero-based position in `trustPolicies`, for statements without a usable name.
    Index(usize),
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Named(name) => write!(f, "{name:?}"),
            Self::Index(index) => write!(f, "at index {index}"),
        }
    }
}

/// Why a trust policy document is refused, or why no statement applies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document exceeds [`MAX_TRUST_POLICY_BYTES`]; it is not parsed at all.
    #[error("trust policy document is {size} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// The bytes are not one JSON value (syntax, UTF-8, nesting depth or trailing data).
    #[error("trust policy document is not valid JSON: {0}")]
    MalformedJson(#[source] JsonError),
    /// A problem outside any statement (`version`, `trustPolicies`, top-level keys).
    #[error("trust policy document: {field}: {violation}")]
    Document {
        /// JSON path of the offending field.
        field: String,
        /// What is wrong with it (boxed: it is large and errors are rare).
        violation: Box<Violation>,
    },
    /// A problem inside one statement.
    #[error("trust policy statement {statement}: {field}: {violation}")]
    Statement {
        /// Which statement.
        statement: StatementRef,
        /// JSON path of the offending field within the statement.
        field: String,
        /// What is wrong with it (boxed: it is large and errors are rare).
        violation: Box<Violation>,
    },
    /// Two statements share a name; names identify statements in logs, so they must be unique.
    #[error(
        "trust policy statements at index {first_index} and {second_index} both use the name \
         {name:?}; statement names must be unique"
    )]
    DuplicateStatementName {
        /// The shared name.
        name: String,
        /// Position of the first statement using it.
        first_index: usize,
        /// Position of the second.
        second_index: usize,
    },
    /// The artifact's `registry/repository` is not a valid scope name.
    #[error("artifact name {scope:?} is not registry/repository: {problem}")]
    InvalidArtifactScope {
        /// The name given.
        scope: String,
        /// What is wrong with it.
        problem: ScopeProblem,
    },
    /// No statement covers the repository and there is no `*` statement.
    #[error("no applicable trust policy for {scope:?}")]
    NoApplicableTrustPolicy {
        /// The `registry/repository` that was looked up.
        scope: String,
    },
}

/// What is wrong with one field of the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A key the schema does not define (notation ignores these; we refuse typos).
    #[error("unknown field")]
    UnknownField,
    /// A key given twice in one object (notation silently keeps the last one).
    #[error("duplicate key")]
    DuplicateKey,
    /// The JSON type is wrong.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the schema requires.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A required field is absent.
    #[error("required field is missing")]
    Missing,
    /// A string or list that must not be empty is empty.
    #[error("must not be empty")]
    Empty,
    /// `version` is not `1.0`.
    #[error("unsupported version {found:?}, only \"1.0\" is supported")]
    UnsupportedVersion {
        /// The version found.
        found: String,
    },
    /// `level` is not one of the four levels.
    #[error("unknown verification level {found:?}, expected strict, permissive, audit or skip")]
    UnknownLevel {
        /// The level found.
        found: String,
    },
    /// `verifyTimestamp` is not one of its two values.
    #[error("unknown value {found:?}, expected \"always\" or \"afterCertExpiry\"")]
    UnknownVerifyTimestamp {
        /// The value found.
        found: String,
    },
    /// `skip` cannot be customised: it verifies nothing.
    #[error("level skip cannot be combined with overrides")]
    OverrideOnSkip,
    /// An `override` key that is not a validation type.
    #[error(
        "unknown validation type, expected authenticity, authenticTimestamp, expiry or \
         revocation"
    )]
    UnknownValidationType,
    /// An `override` value that is not an action.
    #[error("unknown validation action {found:?}, expected enforce, log or skip")]
    UnknownValidationAction {
        /// The action found.
        found: String,
    },
    /// Integrity is always enforced; it cannot be overridden, not even to `enforce`.
    #[error("integrity cannot be overridden")]
    IntegrityOverride,
    /// Only revocation may be skipped.
    #[error("{validation} cannot be skipped, only revocation accepts skip")]
    SkipNotAllowed {
        /// The step that was set to skip.
        validation: ValidationType,
    },
    /// A `skip` statement verifies nothing, so stores or identities there are a mistake.
    #[error("a statement with level skip must not configure trust stores or trusted identities")]
    TrustSettingsOnSkip,
    /// Every level but `skip` needs both trust stores and trusted identities.
    #[error("level {level} needs both trustStores and trustedIdentities to be non-empty")]
    MissingTrustSettings {
        /// The statement's level.
        level: VerificationLevel,
    },
    /// A trust store entry without the `type:name` separator.
    #[error("trust store {value:?} is not of the form <type>:<name>")]
    TrustStoreMissingSeparator {
        /// The entry found.
        value: String,
    },
    /// A trust store type other than ca, signingAuthority or tsa.
    #[error("unknown trust store type {found:?}, expected ca, signingAuthority or tsa")]
    UnknownTrustStoreType {
        /// The type found.
        found: String,
    },
    /// A store name that is not `[a-zA-Z0-9_.-]+`, or is `.` / `..` (it names a directory).
    #[error("invalid trust store name {found:?}: it must match [a-zA-Z0-9_.-]+ and not be . or ..")]
    InvalidTrustStoreName {
        /// The name found.
        found: String,
    },
    /// `*` must be the only identity.
    #[error("the wildcard identity \"*\" cannot be combined with other identities")]
    WildcardIdentityNotAlone,
    /// An identity other than `*` without the `prefix:value` separator.
    #[error("trusted identity {value:?} has no \"<prefix>:\" separator")]
    IdentityMissingSeparator {
        /// The entry found.
        value: String,
    },
    /// `x509.subject:` with nothing after it.
    #[error("trusted identity {value:?} has no value after the prefix")]
    EmptyIdentityValue {
        /// The entry found.
        value: String,
    },
    /// The DN of an `x509.subject:` identity does not parse under notation's rules.
    #[error("trusted identity {value:?} is not a valid distinguished name: {source}")]
    InvalidDistinguishedName {
        /// The entry found.
        value: String,
        /// Why the parser refused it.
        #[source]
        source: DnError,
    },
    /// An empty attribute value in an identity. notation's map lookup treats an absent leaf
    /// attribute as empty, so `OU=` would match a leaf without OU; we refuse the ambiguity.
    #[error("trusted identity {value:?} gives attribute {attribute} an empty value")]
    EmptyDnAttributeValue {
        /// The entry found.
        value: String,
        /// The attribute with the empty value.
        attribute: String,
    },
    /// One identity is a subset of another, so the narrower one is redundant or a mistake.
    #[error("trusted identity {first:?} overlaps with {second:?}")]
    OverlappingIdentities {
        /// The identity that is a subset.
        first: String,
        /// The identity it is a subset of.
        second: String,
    },
    /// More identities than [`MAX_TRUSTED_IDENTITIES_PER_STATEMENT`].
    #[error("{count} trusted identities, more than the limit of {limit}")]
    TooManyIdentities {
        /// How many were listed.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// `*` must be the only scope of its statement.
    #[error("the wildcard scope \"*\" cannot be combined with other scopes")]
    WildcardScopeNotAlone,
    /// A scope that is not `domain/repository` in distribution's reference grammar.
    #[error("invalid registry scope {scope:?}: {problem}")]
    InvalidRegistryScope {
        /// The scope found.
        scope: String,
        /// Which part is wrong.
        problem: ScopeProblem,
    },
    /// The same scope is listed twice in one statement (notation counts that as two uses).
    #[error("registry scope {scope:?} is listed more than once")]
    ScopeListedTwice {
        /// The repeated scope.
        scope: String,
    },
    /// A scope may belong to one statement only, so that selection is unambiguous.
    #[error("registry scope {scope:?} is also used by statement {other}")]
    ScopeUsedTwice {
        /// The repeated scope.
        scope: String,
        /// The statement that used it first.
        other: StatementRef,
    },
}

/// Which part of a registry scope breaks the reference grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScopeProblem {
    /// Partial or prefix wildcards are not supported; only a lone `*` is.
    #[error("wildcards are only allowed as the whole scope \"*\"")]
    Wildcard,
    /// There is no `/` between the registry and the repository.
    #[error("expected <registry>/<repository>")]
    MissingRepository,
    /// The registry is not a host name with an optional port.
    #[error("the registry part is not a valid host name with an optional port")]
    InvalidDomain,
    /// The repository path is not lowercase components joined by `/`.
    #[error(
        "the repository part must be lowercase components separated by \"/\", without a tag or digest"
    )]
    InvalidRepository,
}

// ---------------------------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------------------------

/// A field-level failure before it is attached to the document or a statement.
type Fail = (String, Violation);

const DOCUMENT_KEYS: &[&str] = &["version", "trustPolicies"];
const STATEMENT_KEYS: &[&str] = &[
    "name",
    "registryScopes",
    "signatureVerification",
    "trustStores",
    "trustedIdentities",
];
const SIGNATURE_VERIFICATION_KEYS: &[&str] = &["level", "override", "verifyTimestamp"];

fn wrong_type(path: &str, expected: &'static str, found: &Node) -> Fail {
    (
        path.to_owned(),
        Violation::WrongType {
            expected,
            found: found.kind(),
        },
    )
}

/// An object, after refusing duplicate and unknown keys (in document order, so the first
/// problem written is the one reported). The parser found the duplicates; they are reported
/// here so that a problem written earlier in the document is reported first, as the document
/// is checked in order.
fn object<'a>(value: &'a Node, path: &str, allowed: Option<&[&str]>) -> Result<&'a Object, Fail> {
    let Node::Object(object) = value else {
        return Err(wrong_type(path, "an object", value));
    };
    let known = |key: &str| allowed.is_none_or(|allowed| allowed.contains(&key));
    match object.first_key_problem(known) {
        None => Ok(object),
        Some(KeyProblem::Unknown(key)) => Err((member_path(path, key), Violation::UnknownField)),
        Some(KeyProblem::Duplicate(key)) => Err((member_path(path, key), Violation::DuplicateKey)),
    }
}

fn string<'a>(value: &'a Node, path: &str) -> Result<&'a str, Fail> {
    match value {
        Node::String(text) => Ok(text),
        other => Err(wrong_type(path, "a string", other)),
    }
}

/// A list of strings; absent counts as empty, as in notation.
fn strings<'a>(value: Option<&'a Node>, path: &str) -> Result<Vec<&'a str>, Fail> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let Node::Array(items) = value else {
        return Err(wrong_type(path, "an array of strings", value));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| string(item, &element_path(path, i)))
        .collect()
}

fn build_document(root: &Node) -> Result<TrustPolicyDocument, PolicyError> {
    let document = |(field, violation): Fail| PolicyError::Document {
        field,
        violation: Box::new(violation),
    };
    let entries = object(root, "", Some(DOCUMENT_KEYS)).map_err(|(field, violation)| {
        // The root itself has no name; say so rather than print an empty path.
        let field = if field.is_empty() {
            "(root)".to_owned()
        } else {
            field
        };
        PolicyError::Document {
            field,
            violation: Box::new(violation),
        }
    })?;

    let version = match entries.get("version") {
        None => return Err(document(("version".to_owned(), Violation::Missing))),
        Some(value) => string(value, "version").map_err(document)?,
    };
    if version.is_empty() {
        return Err(document(("version".to_owned(), Violation::Empty)));
    }
    if version != SUPPORTED_VERSION {
        return Err(document((
            "version".to_owned(),
            Violation::UnsupportedVersion {
                found: version.to_owned(),
            },
        )));
    }

    let statements = match entries.get("trustPolicies") {
        None => return Err(document(("trustPolicies".to_owned(), Violation::Missing))),
        Some(Node::Array(items)) => items,
        Some(other) => {
            return Err(document(wrong_type(
                "trustPolicies",
                "an array of objects",
                other,
            )));
        }
    };
    if statements.is_empty() {
        return Err(document(("trustPolicies".to_owned(), Violation::Empty)));
    }

    let mut trust_policies: Vec<TrustPolicy> = Vec::with_capacity(statements.len());
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut scopes: HashMap<&str, usize> = HashMap::new();
    for (index, value) in statements.iter().enumerate() {
        let statement = statement_ref(index, value);
        let policy = build_statement(value).map_err(|(field, violation)| {
            // A statement that is not an object fails as a whole; say so instead of "".
            let field = if field.is_empty() {
                "(statement)".to_owned()
            } else {
                field
            };
            PolicyError::Statement {
                statement: statement.clone(),
                field,
                violation: Box::new(violation),
            }
        })?;
        trust_policies.push(policy);
    }
    // Second pass over the checked statements: names and scopes must be unique document-wide.
    for (index, policy) in trust_policies.iter().enumerate() {
        if let Some(&first_index) = names.get(policy.name.as_str()) {
            return Err(PolicyError::DuplicateStatementName {
                name: policy.name.clone(),
                first_index,
                second_index: index,
            });
        }
        names.insert(&policy.name, index);
        for (j, scope) in policy.registry_scopes.iter().enumerate() {
            if let Some(&owner) = scopes.get(scope.as_str()) {
                let violation = if owner == index {
                    Violation::ScopeListedTwice {
                        scope: scope.clone(),
                    }
                } else {
                    Violation::ScopeUsedTwice {
                        scope: scope.clone(),
                        other: StatementRef::Named(trust_policies[owner].name.clone()),
                    }
                };
                return Err(PolicyError::Statement {
                    statement: StatementRef::Named(policy.name.clone()),
                    field: element_path("registryScopes", j),
                    violation: Box::new(violation),
                });
            }
            scopes.insert(scope, index);
        }
    }

    Ok(TrustPolicyDocument {
        version: version.to_owned(),
        trust_policies,
    })
}

/// How errors will name a statement: its first `name` if that is a non-empty string.
fn statement_ref(index: usize, value: &Node) -> StatementRef {
    if let Node::Object(entries) = value
        && let Some(Node::String(name)) = entries.get("name")
        && !name.is_empty()
    {
        return StatementRef::Named(name.clone());
    }
    StatementRef::Index(index)
}

/// Checks one statement in notation's order: name, signatureVerification, trust stores and
/// identities, then registry scopes.
fn build_statement(value: &Node) -> Result<TrustPolicy, Fail> {
    let entries = object(value, "", Some(STATEMENT_KEYS))?;

    let name = match entries.get("name") {
        None => return Err(("name".to_owned(), Violation::Missing)),
        Some(value) => string(value, "name")?,
    };
    if name.is_empty() {
        return Err(("name".to_owned(), Violation::Empty));
    }

    let signature_verification = match entries.get("signatureVerification") {
        None => return Err(("signatureVerification".to_owned(), Violation::Missing)),
        Some(value) => build_signature_verification(value)?,
    };
    let level = signature_verification.level;

    // Types first, so that a wrong type is reported as such and not as "empty".
    let stores = strings(entries.get("trustStores"), "trustStores")?;
    let identities = strings(entries.get("trustedIdentities"), "trustedIdentities")?;
    let (trust_stores, trusted_identities, ignored_identities) = if level == VerificationLevel::Skip
    {
        if !stores.is_empty() {
            return Err(("trustStores".to_owned(), Violation::TrustSettingsOnSkip));
        }
        if !identities.is_empty() {
            return Err((
                "trustedIdentities".to_owned(),
                Violation::TrustSettingsOnSkip,
            ));
        }
        (
            Vec::new(),
            TrustedIdentities::Subjects(Vec::new()),
            Vec::new(),
        )
    } else {
        if stores.is_empty() {
            return Err((
                "trustStores".to_owned(),
                Violation::MissingTrustSettings { level },
            ));
        }
        if identities.is_empty() {
            return Err((
                "trustedIdentities".to_owned(),
                Violation::MissingTrustSettings { level },
            ));
        }
        let trust_stores = stores
            .iter()
            .enumerate()
            .map(|(i, store)| parse_trust_store(store, i))
            .collect::<Result<Vec<_>, _>>()?;
        let (trusted, ignored) = build_identities(&identities)?;
        (trust_stores, trusted, ignored)
    };

    let registry_scopes = build_registry_scopes(entries.get("registryScopes"))?;

    Ok(TrustPolicy {
        name: name.to_owned(),
        registry_scopes,
        signature_verification,
        trust_stores,
        trusted_identities,
        ignored_identities,
    })
}

fn build_signature_verification(value: &Node) -> Result<SignatureVerification, Fail> {
    const PATH: &str = "signatureVerification";
    let entries = object(value, PATH, Some(SIGNATURE_VERIFICATION_KEYS))?;

    let level_path = member_path(PATH, "level");
    let level_text = match entries.get("level") {
        None => return Err((level_path, Violation::Missing)),
        Some(value) => string(value, &level_path)?,
    };
    if level_text.is_empty() {
        return Err((level_path, Violation::Empty));
    }
    let level = VerificationLevel::parse(level_text).ok_or_else(|| {
        (
            level_path.clone(),
            Violation::UnknownLevel {
                found: level_text.to_owned(),
            },
        )
    })?;

    let mut overrides = Overrides::default();
    if let Some(value) = entries.get("override") {
        let override_path = member_path(PATH, "override");
        let pairs = object(value, &override_path, None)?;
        // notation ignores an empty override map even at skip; only real overrides conflict.
        if level == VerificationLevel::Skip && !pairs.is_empty() {
            return Err((override_path, Violation::OverrideOnSkip));
        }
        for (key, action) in pairs.entries() {
            let path = member_path(&override_path, key);
            let validation = ValidationType::parse(key)
                .ok_or((path.clone(), Violation::UnknownValidationType))?;
            let action_text = string(action, &path)?;
            let action = ValidationAction::parse(action_text).ok_or_else(|| {
                (
                    path.clone(),
                    Violation::UnknownValidationAction {
                        found: action_text.to_owned(),
                    },
                )
            })?;
            // The integrity slot does not exist, so "cannot be overridden" falls out of it.
            let Some(slot) = overrides.slot(validation) else {
                return Err((path, Violation::IntegrityOverride));
            };
            if action == ValidationAction::Skip && validation != ValidationType::Revocation {
                return Err((path, Violation::SkipNotAllowed { validation }));
            }
            *slot = Some(action);
        }
    }

    let verify_timestamp = match entries.get("verifyTimestamp") {
        None => VerifyTimestamp::Always,
        Some(value) => {
            let path = member_path(PATH, "verifyTimestamp");
            let text = string(value, &path)?;
            VerifyTimestamp::parse(text).ok_or_else(|| {
                (
                    path.clone(),
                    Violation::UnknownVerifyTimestamp {
                        found: text.to_owned(),
                    },
                )
            })?
        }
    };

    Ok(SignatureVerification {
        level,
        overrides,
        verify_timestamp,
    })
}

fn parse_trust_store(value: &str, index: usize) -> Result<TrustStoreRef, Fail> {
    let path = element_path("trustStores", index);
    let Some((kind, name)) = value.split_once(':') else {
        return Err((
            path,
            Violation::TrustStoreMissingSeparator {
                value: value.to_owned(),
            },
        ));
    };
    let store_type = TrustStoreType::parse(kind).ok_or_else(|| {
        (
            path.clone(),
            Violation::UnknownTrustStoreType {
                found: kind.to_owned(),
            },
        )
    })?;
    if !super::trust_store::is_valid_store_name(name) {
        return Err((
            path,
            Violation::InvalidTrustStoreName {
                found: name.to_owned(),
            },
        ));
    }
    Ok(TrustStoreRef {
        store_type,
        name: name.to_owned(),
    })
}

fn build_identities(identities: &[&str]) -> Result<(TrustedIdentities, Vec<String>), Fail> {
    if identities.len() > MAX_TRUSTED_IDENTITIES_PER_STATEMENT {
        return Err((
            "trustedIdentities".to_owned(),
            Violation::TooManyIdentities {
                count: identities.len(),
                limit: MAX_TRUSTED_IDENTITIES_PER_STATEMENT,
            },
        ));
    }
    if identities.len() > 1 && identities.contains(&WILDCARD) {
        return Err((
            "trustedIdentities".to_owned(),
            Violation::WildcardIdentityNotAlone,
        ));
    }
    if identities == [WILDCARD] {
        return Ok((TrustedIdentities::Any, Vec::new()));
    }

    let mut subjects: Vec<(&str, DistinguishedName)> = Vec::new();
    let mut ignored = Vec::new();
    for (i, identity) in identities.iter().enumerate() {
        let path = element_path("trustedIdentities", i);
        if identity.is_empty() {
            return Err((path, Violation::Empty));
        }
        let Some((prefix, text)) = identity.split_once(':') else {
            return Err((
                path,
                Violation::IdentityMissingSeparator {
                    value: (*identity).to_owned(),
                },
            ));
        };
        if prefix != X509_SUBJECT_PREFIX {
            ignored.push((*identity).to_owned());
            continue;
        }
        if text.is_empty() {
            return Err((
                path,
                Violation::EmptyIdentityValue {
                    value: (*identity).to_owned(),
                },
            ));
        }
        let dn = DistinguishedName::parse_rfc4514(text).map_err(|source| {
            (
                path.clone(),
                Violation::InvalidDistinguishedName {
                    value: (*identity).to_owned(),
                    source,
                },
            )
        })?;
        if let Some((attribute, _)) = dn.iter().find(|(_, value)| value.is_empty()) {
            return Err((
                path,
                Violation::EmptyDnAttributeValue {
                    value: (*identity).to_owned(),
                    attribute: attribute.to_owned(),
                },
            ));
        }
        subjects.push((identity, dn));
    }

    for (i, (first, narrow)) in subjects.iter().enumerate() {
        for (j, (second, wide)) in subjects.iter().enumerate() {
            if i != j && narrow.is_subset_of(wide) {
                return Err((
                    "trustedIdentities".to_owned(),
                    Violation::OverlappingIdentities {
                        first: (*first).to_owned(),
                        second: (*second).to_owned(),
                    },
                ));
            }
        }
    }

    let subjects = subjects.into_iter().map(|(_, dn)| dn).collect();
    Ok((TrustedIdentities::Subjects(subjects), ignored))
}

fn build_registry_scopes(value: Option<&Node>) -> Result<Vec<String>, Fail> {
    const PATH: &str = "registryScopes";
    let Some(value) = value else {
        return Err((PATH.to_owned(), Violation::Missing));
    };
    let scopes = strings(Some(value), PATH)?;
    if scopes.is_empty() {
        return Err((PATH.to_owned(), Violation::Empty));
    }
    if scopes.len() > 1 && scopes.contains(&WILDCARD) {
        return Err((PATH.to_owned(), Violation::WildcardScopeNotAlone));
    }
    for (i, scope) in scopes.iter().enumerate() {
        if *scope == WILDCARD {
            continue;
        }
        check_scope(scope).map_err(|problem| {
            (
                element_path(PATH, i),
                Violation::InvalidRegistryScope {
                    scope: (*scope).to_owned(),
                    problem,
                },
            )
        })?;
    }
    Ok(scopes.into_iter().map(str::to_owned).collect())
}

/// `domain/repository` as notation's copy of distribution's grammar has it: a host name
/// (letters of either case) with an optional numeric port, then lowercase path components.
pub fn check_scope(scope: &str) -> Result<(), ScopeProblem> {
    if scope.contains('*') {
        return Err(ScopeProblem::Wildcard);
    }
    let (domain, repository) = scope
        .split_once('/')
        .ok_or(ScopeProblem::MissingRepository)?;
    if !is_domain(domain) {
        return Err(ScopeProblem::InvalidDomain);
    }
    if repository.is_empty() || !repository.split('/').all(is_path_component) {
        return Err(ScopeProblem::InvalidRepository);
    }
    Ok(())
}

/// The domain of a scope: distribution's `host[:port]` as image references have it, without the
/// bracketed IPv6 form (notation's copy of the grammar has none).
fn is_domain(domain: &str) -> bool {
    !domain.starts_with('[') && super::names::is_valid_registry(domain)
}

/// One repository path component, as in image references.
fn is_path_component(component: &str) -> bool {
    super::names::path_component(component).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use der::{Decode, Encode};
    use serde_json::{Value, json};
    use std::str::FromStr;

    fn statement() -> Value {
        json!({
            "name": "prod",
            "registryScopes": ["registry.example.com/team/app"],
            "signatureVerification": {"level": "strict"},
            "trustStores": ["ca:acme"],
            "trustedIdentities": ["x509.subject: C=US, ST=WA, O=acme"]
        })
    }

    fn document(statements: Vec<Value>) -> Value {
        json!({"version": "1.0", "trustPolicies": statements})
    }

    fn load(value: &Value) -> Result<TrustPolicyDocument, PolicyError> {
        TrustPolicyDocument::from_json(value.to_string().as_bytes())
    }

    fn load_statement(edit: impl FnOnce(&mut Value)) -> Result<TrustPolicyDocument, PolicyError> {
        let mut s = statement();
        edit(&mut s);
        load(&document(vec![s]))
    }

    /// The (statement, field, violation) of a statement error; panics on anything else.
    fn statement_error(
        result: Result<TrustPolicyDocument, PolicyError>,
    ) -> (StatementRef, String, Violation) {
        match result {
            Err(PolicyError::Statement {
                statement,
                field,
                violation,
            }) => (statement, field, *violation),
            other => panic!("expected a statement error, got {other:?}"),
        }
    }

    /// The violation of a statement error, checking the field it names.
    fn rejected(field: &str, edit: impl FnOnce(&mut Value)) -> Violation {
        let (statement, got_field, violation) = statement_error(load_statement(edit));
        assert_eq!(got_field, field, "{violation}");
        if let StatementRef::Named(name) = statement {
            assert_eq!(name, "prod");
        }
        violation
    }

    fn document_error(result: Result<TrustPolicyDocument, PolicyError>) -> (String, Violation) {
        match result {
            Err(PolicyError::Document { field, violation }) => (field, *violation),
            other => panic!("expected a document error, got {other:?}"),
        }
    }

    fn subject(text: &str) -> Name {
        Name::from_der(&Name::from_str(text).unwrap().to_der().unwrap()).unwrap()
    }

    // --- document level ----------------------------------------------------------------------

    #[test]
    fn accepts_a_complete_statement() {
        let doc = load_statement(|s| {
            s["signatureVerification"] = json!({
                "level": "permissive",
                "override": {"revocation": "skip", "authenticity": "log"},
                "verifyTimestamp": "afterCertExpiry"
            });
            s["trustStores"] = json!(["ca:acme", "tsa:globalsign", "signingAuthority:sa"]);
        })
        .unwrap();
        assert_eq!(doc.version(), "1.0");
        let policy = &doc.trust_policies()[0];
        assert_eq!(policy.name(), "prod");
        assert_eq!(policy.registry_scopes(), ["registry.example.com/team/app"]);
        assert!(!policy.is_global());
        let sv = policy.signature_verification();
        assert_eq!(sv.level(), VerificationLevel::Permissive);
        assert_eq!(sv.verify_timestamp(), VerifyTimestamp::AfterCertExpiry);
        assert_eq!(
            sv.overrides().get(ValidationType::Revocation),
            Some(ValidationAction::Skip)
        );
        let stores: Vec<String> = policy
            .trust_stores()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(stores, ["ca:acme", "tsa:globalsign", "signingAuthority:sa"]);
        assert_eq!(
            policy.trust_stores()[2].store_type(),
            TrustStoreType::SigningAuthority
        );
        let TrustedIdentities::Subjects(subjects) = policy.trusted_identities() else {
            panic!("expected subjects");
        };
        assert_eq!(subjects[0].to_string(), "C=US,ST=WA,O=acme");
    }

    #[test]
    fn rejects_documents_over_the_size_limit() {
        let big = vec![b' '; MAX_TRUST_POLICY_BYTES + 1];
        assert!(matches!(
            TrustPolicyDocument::from_json(&big),
            Err(PolicyError::TooLarge { size, limit }) if size == limit + 1
        ));
    }

    #[test]
    fn rejects_malformed_json_and_trailing_data() {
        for bytes in [&b"{"[..], b"{} {}", b"\xff", b""] {
            assert!(matches!(
                TrustPolicyDocument::from_json(bytes),
                Err(PolicyError::MalformedJson(_))
            ));
        }
    }

    #[test]
    fn rejects_nesting_deeper_than_serde_json_allows() {
        let deep = format!(
            r#"{{"version":"1.0","trustPolicies":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(matches!(
            TrustPolicyDocument::from_json(deep.as_bytes()),
            Err(PolicyError::MalformedJson(_))
        ));
    }

    #[test]
    fn rejects_a_statement_that_is_not_an_object() {
        let (statement, field, violation) = statement_error(load(&document(vec![json!("prod")])));
        assert_eq!(statement, StatementRef::Index(0));
        assert_eq!(field, "(statement)");
        assert_eq!(
            violation,
            Violation::WrongType {
                expected: "an object",
                found: "a string"
            }
        );
    }

    #[test]
    fn rejects_a_root_that_is_not_an_object() {
        let (field, violation) = document_error(TrustPolicyDocument::from_json(b"null"));
        assert_eq!(field, "(root)");
        assert!(matches!(
            violation,
            Violation::WrongType { found: "null", .. }
        ));
    }

    #[test]
    fn rejects_unknown_top_level_fields() {
        let mut doc = document(vec![statement()]);
        doc["Version"] = json!("1.0");
        assert_eq!(
            document_error(load(&doc)),
            ("Version".into(), Violation::UnknownField)
        );
    }

    #[test]
    fn rejects_duplicate_keys() {
        let text = r#"{"version":"1.0","version":"1.0","trustPolicies":[]}"#;
        assert_eq!(
            document_error(TrustPolicyDocument::from_json(text.as_bytes())),
            ("version".into(), Violation::DuplicateKey)
        );
        let text = r#"{"version":"1.0","trustPolicies":[{"name":"prod",
            "registryScopes":["*"],"trustStores":["ca:a"],"trustedIdentities":["*"],
            "signatureVerification":{"level":"strict","override":{"expiry":"log","expiry":"enforce"}}}]}"#;
        let (statement, field, violation) =
            statement_error(TrustPolicyDocument::from_json(text.as_bytes()));
        assert_eq!(statement, StatementRef::Named("prod".into()));
        assert_eq!(field, "signatureVerification.override.expiry");
        assert_eq!(violation, Violation::DuplicateKey);
    }

    #[test]
    fn a_duplicate_key_names_its_statement_and_path() {
        // A duplicate inside the second statement: named by the statement's (first) name.
        let second = r#"{"name":"two","name":"dup","registryScopes":["a/b"],
            "signatureVerification":{"level":"strict"},"trustStores":["ca:a"],
            "trustStores":["ca:b"],"trustedIdentities":["*"]}"#;
        let text = format!(
            r#"{{"version":"1.0","trustPolicies":[{},{second}]}}"#,
            statement()
        );
        let err = TrustPolicyDocument::from_json(text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "trust policy statement \"two\": name: duplicate key"
        );
        // A problem written before the duplicate is the one reported, even in an earlier
        // statement; a duplicate inside a value of the wrong type is reported as the type.
        let first =
            r#"{"name":"one","registryScopes":[],"signatureVerification":{"level":"skip"}}"#;
        let text = format!(r#"{{"version":"1.0","trustPolicies":[{first},{second}]}}"#);
        let err = TrustPolicyDocument::from_json(text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "trust policy statement \"one\": registryScopes: must not be empty"
        );
        let text = r#"{"x":{"a":1,"a":2},"version":"1.0","version":"1.0"}"#;
        assert_eq!(
            document_error(TrustPolicyDocument::from_json(text.as_bytes())),
            ("x".into(), Violation::UnknownField)
        );
        let err = load_statement(|s| s["trustStores"] = json!([{"k": 1}])).unwrap_err();
        let text = serde_json::to_string(&document(vec![statement()]))
            .unwrap()
            .replace(r#"["ca:acme"]"#, r#"[{"k":1,"k":1}]"#);
        let dup = TrustPolicyDocument::from_json(text.as_bytes()).unwrap_err();
        assert_eq!(dup.to_string(), err.to_string());
        assert!(
            err.to_string()
                .ends_with("trustStores[0]: expected a string, found an object"),
            "{err}"
        );
    }

    #[test]
    fn the_value_budget_never_refuses_a_document_within_the_byte_limit() {
        // The densest document that fits: a statement list of single-digit numbers, exactly
        // MAX_TRUST_POLICY_BYTES long. It is refused for what it says, not for its size.
        let head = br#"{"version":"1.0","trustPolicies":[0"#;
        let mut doc = head.to_vec();
        while doc.len() + 2 + 2 <= MAX_TRUST_POLICY_BYTES {
            doc.extend_from_slice(b",0");
        }
        doc.extend_from_slice(b"]}");
        assert!(doc.len() <= MAX_TRUST_POLICY_BYTES);
        let (statement, field, violation) = statement_error(TrustPolicyDocument::from_json(&doc));
        assert_eq!(
            (statement, field.as_str()),
            (StatementRef::Index(0), "(statement)")
        );
        assert!(matches!(
            violation,
            Violation::WrongType {
                found: "a number",
                ..
            }
        ));
        // The most values per byte a parse counts: one-byte values and separators, cut short
        // (an unclosed array needs no closing byte).
        let mut doc = b"[0".to_vec();
        doc.resize(MAX_TRUST_POLICY_BYTES, b'0');
        for (i, byte) in doc.iter_mut().enumerate().skip(2) {
            *byte = if i % 2 == 0 { b',' } else { b'0' };
        }
        let err = TrustPolicyDocument::from_json(&doc).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("trust policy document is not valid JSON: EOF while parsing"),
            "{err}"
        );
    }

    #[test]
    fn rejects_missing_empty_or_unsupported_versions() {
        let mut doc = document(vec![statement()]);
        doc.as_object_mut().unwrap().remove("version");
        assert_eq!(
            document_error(load(&doc)),
            ("version".into(), Violation::Missing)
        );
        for (version, violation) in [
            (json!(""), Violation::Empty),
            (
                json!("1.1"),
                Violation::UnsupportedVersion {
                    found: "1.1".into(),
                },
            ),
            (
                json!(1.0),
                Violation::WrongType {
                    expected: "a string",
                    found: "a number",
                },
            ),
        ] {
            let mut doc = document(vec![statement()]);
            doc["version"] = version;
            assert_eq!(document_error(load(&doc)), ("version".into(), violation));
        }
    }

    #[test]
    fn rejects_missing_or_empty_trust_policies() {
        assert_eq!(
            document_error(load(&json!({"version": "1.0"}))),
            ("trustPolicies".into(), Violation::Missing)
        );
        assert_eq!(
            document_error(load(&document(vec![]))),
            ("trustPolicies".into(), Violation::Empty)
        );
    }

    // --- names ---------------------------------------------------------------------------------

    #[test]
    fn rejects_a_missing_name_naming_the_statement_by_index() {
        let mut second = statement();
        second.as_object_mut().unwrap().remove("name");
        let (statement_ref, field, violation) =
            statement_error(load(&document(vec![statement(), second])));
        assert_eq!(statement_ref, StatementRef::Index(1));
        assert_eq!((field.as_str(), violation), ("name", Violation::Missing));
    }

    #[test]
    fn rejects_an_empty_name() {
        let (statement_ref, field, violation) =
            statement_error(load_statement(|s| s["name"] = json!("")));
        assert_eq!(statement_ref, StatementRef::Index(0));
        assert_eq!((field.as_str(), violation), ("name", Violation::Empty));
    }

    #[test]
    fn rejects_duplicate_statement_names() {
        let mut second = statement();
        second["registryScopes"] = json!(["registry.example.com/other"]);
        assert!(matches!(
            load(&document(vec![statement(), second])),
            Err(PolicyError::DuplicateStatementName { name, first_index: 0, second_index: 1 })
                if name == "prod"
        ));
    }

    #[test]
    fn rejects_unknown_statement_fields() {
        assert_eq!(
            rejected("globalPolicy", |s| s["globalPolicy"] = json!(true)),
            Violation::UnknownField
        );
    }

    #[test]
    fn rejects_null_instead_of_a_list() {
        assert_eq!(
            rejected("trustStores", |s| s["trustStores"] = Value::Null),
            Violation::WrongType {
                expected: "an array of strings",
                found: "null"
            }
        );
    }

    // --- signatureVerification -----------------------------------------------------------------

    #[test]
    fn rejects_missing_signature_verification() {
        assert_eq!(
            rejected("signatureVerification", |s| {
                s.as_object_mut().unwrap().remove("signatureVerification");
            }),
            Violation::Missing
        );
    }

    #[test]
    fn rejects_unknown_signature_verification_fields() {
        assert_eq!(
            rejected("signatureVerification.skipTimestampRevocationCheck", |s| {
                s["signatureVerification"]["skipTimestampRevocationCheck"] = json!(true);
            }),
            Violation::UnknownField
        );
    }

    #[test]
    fn rejects_missing_empty_or_unknown_levels() {
        assert_eq!(
            rejected(
                "signatureVerification.level",
                |s| s["signatureVerification"] = json!({})
            ),
            Violation::Missing
        );
        assert_eq!(
            rejected("signatureVerification.level", |s| {
                s["signatureVerification"]["level"] = json!("");
            }),
            Violation::Empty
        );
        assert_eq!(
            rejected("signatureVerification.level", |s| {
                s["signatureVerification"]["level"] = json!("Strict");
            }),
            Violation::UnknownLevel {
                found: "Strict".into()
            }
        );
    }

    #[test]
    fn rejects_unknown_verify_timestamp_values() {
        assert_eq!(
            rejected("signatureVerification.verifyTimestamp", |s| {
                s["signatureVerification"]["verifyTimestamp"] = json!("never");
            }),
            Violation::UnknownVerifyTimestamp {
                found: "never".into()
            }
        );
    }

    #[test]
    fn empty_verify_timestamp_means_always() {
        let doc =
            load_statement(|s| s["signatureVerification"]["verifyTimestamp"] = json!("")).unwrap();
        assert_eq!(
            doc.trust_policies()[0]
                .signature_verification()
                .verify_timestamp(),
            VerifyTimestamp::Always
        );
    }

    fn skip_statement(s: &mut Value) {
        s["signatureVerification"] = json!({"level": "skip"});
        let object = s.as_object_mut().unwrap();
        object.remove("trustStores");
        object.remove("trustedIdentities");
    }

    #[test]
    fn rejects_overrides_at_skip() {
        assert_eq!(
            rejected("signatureVerification.override", |s| {
                skip_statement(s);
                s["signatureVerification"]["override"] = json!({"revocation": "log"});
            }),
            Violation::OverrideOnSkip
        );
        // An empty override map is no override at all, as in notation.
        assert!(
            load_statement(|s| {
                skip_statement(s);
                s["signatureVerification"]["override"] = json!({});
            })
            .is_ok()
        );
    }

    #[test]
    fn rejects_any_integrity_override() {
        for action in ["enforce", "log", "skip"] {
            let violation = rejected("signatureVerification.override.integrity", |s| {
                s["signatureVerification"]["override"] = json!({"integrity": action});
            });
            assert_eq!(violation, Violation::IntegrityOverride);
        }
    }

    #[test]
    fn rejects_skip_overrides_except_for_revocation() {
        for validation in [
            ValidationType::Authenticity,
            ValidationType::AuthenticTimestamp,
            ValidationType::Expiry,
        ] {
            let field = format!("signatureVerification.override.{validation}");
            let violation = rejected(&field, |s| {
                s["signatureVerification"]["override"] = json!({validation.as_str(): "skip"});
            });
            assert_eq!(violation, Violation::SkipNotAllowed { validation });
        }
        let doc = load_statement(|s| {
            s["signatureVerification"]["override"] = json!({"revocation": "skip"});
        })
        .unwrap();
        assert_eq!(
            doc.trust_policies()[0].action(ValidationType::Revocation),
            ValidationAction::Skip
        );
    }

    #[test]
    fn rejects_unknown_override_keys_and_values() {
        assert_eq!(
            rejected("signatureVerification.override.Expiry", |s| {
                s["signatureVerification"]["override"] = json!({"Expiry": "log"});
            }),
            Violation::UnknownValidationType
        );
        assert_eq!(
            rejected("signatureVerification.override.expiry", |s| {
                s["signatureVerification"]["override"] = json!({"expiry": "warn"});
            }),
            Violation::UnknownValidationAction {
                found: "warn".into()
            }
        );
        assert_eq!(
            rejected("signatureVerification.override", |s| {
                s["signatureVerification"]["override"] = json!(["expiry"]);
            }),
            Violation::WrongType {
                expected: "an object",
                found: "an array"
            }
        );
    }

    // --- trust stores and identities versus the level -----------------------------------------

    #[test]
    fn rejects_trust_settings_on_skip() {
        assert_eq!(
            rejected("trustStores", |s| {
                s["signatureVerification"] = json!({"level": "skip"});
                s.as_object_mut().unwrap().remove("trustedIdentities");
            }),
            Violation::TrustSettingsOnSkip
        );
        assert_eq!(
            rejected("trustedIdentities", |s| {
                s["signatureVerification"] = json!({"level": "skip"});
                s["trustStores"] = json!([]);
            }),
            Violation::TrustSettingsOnSkip
        );
    }

    #[test]
    fn rejects_missing_trust_stores_or_identities_below_skip() {
        let level = VerificationLevel::Audit;
        assert_eq!(
            rejected("trustStores", |s| {
                s["signatureVerification"]["level"] = json!("audit");
                s["trustStores"] = json!([]);
            }),
            Violation::MissingTrustSettings { level }
        );
        assert_eq!(
            rejected("trustedIdentities", |s| {
                s["signatureVerification"]["level"] = json!("audit");
                s.as_object_mut().unwrap().remove("trustedIdentities");
            }),
            Violation::MissingTrustSettings { level }
        );
    }

    // --- trust stores --------------------------------------------------------------------------

    #[test]
    fn rejects_trust_stores_without_a_separator() {
        assert_eq!(
            rejected("trustStores[0]", |s| s["trustStores"] = json!(["*"])),
            Violation::TrustStoreMissingSeparator { value: "*".into() }
        );
    }

    #[test]
    fn rejects_unknown_trust_store_types() {
        assert_eq!(
            rejected("trustStores[1]", |s| s["trustStores"] =
                json!(["ca:a", "CA:b"])),
            Violation::UnknownTrustStoreType { found: "CA".into() }
        );
    }

    #[test]
    fn rejects_invalid_trust_store_names() {
        for name in ["", "a/b", "..", ".", "a b", "é"] {
            assert_eq!(
                rejected("trustStores[0]", |s| s["trustStores"] =
                    json!([format!("ca:{name}")])),
                Violation::InvalidTrustStoreName { found: name.into() },
                "{name:?}"
            );
        }
        assert!(load_statement(|s| s["trustStores"] = json!(["ca:a.b_c-D9", "tsa:..x"])).is_ok());
    }

    #[test]
    fn accepts_a_trust_store_listed_twice_as_notation_does() {
        assert!(load_statement(|s| s["trustStores"] = json!(["ca:e2e", "ca:e2e"])).is_ok());
    }

    // --- trusted identities --------------------------------------------------------------------

    #[test]
    fn rejects_the_wildcard_identity_with_others() {
        for identities in [
            json!(["*", "x509.subject:C=US,ST=WA,O=a"]),
            json!(["*", "*"]),
        ] {
            assert_eq!(
                rejected("trustedIdentities", |s| s["trustedIdentities"] = identities),
                Violation::WildcardIdentityNotAlone
            );
        }
    }

    #[test]
    fn rejects_empty_identities() {
        assert_eq!(
            rejected("trustedIdentities[0]", |s| s["trustedIdentities"] =
                json!([""])),
            Violation::Empty
        );
    }

    #[test]
    fn rejects_identities_without_a_separator() {
        assert_eq!(
            rejected("trustedIdentities[0]", |s| {
                s["trustedIdentities"] = json!(["x509.subject C=US,ST=WA,O=a"]);
            }),
            Violation::IdentityMissingSeparator {
                value: "x509.subject C=US,ST=WA,O=a".into()
            }
        );
    }

    #[test]
    fn rejects_subject_identities_without_a_value() {
        assert_eq!(
            rejected("trustedIdentities[0]", |s| s["trustedIdentities"] =
                json!(["x509.subject:"])),
            Violation::EmptyIdentityValue {
                value: "x509.subject:".into()
            }
        );
    }

    #[test]
    fn rejects_unparsable_subject_identities() {
        for (dn, source) in [
            (
                " CN=e2e,O=Notary,L=Seattle,ST=WA",
                DnError::MissingMandatoryAttribute { attribute: "C" },
            ),
            ("C=US,ST=WA,O=a,1.2.3=#0c0161", DnError::HexValue),
            ("C=US+ST=WA,O=a", DnError::MultiValuedRdn),
            (
                "C=US,ST=WA,O=a,O=b",
                DnError::DuplicateAttribute {
                    attribute: "O".into(),
                },
            ),
        ] {
            let value = format!("x509.subject:{dn}");
            assert_eq!(
                rejected("trustedIdentities[0]", |s| s["trustedIdentities"] =
                    json!([value])),
                Violation::InvalidDistinguishedName {
                    value: value.clone(),
                    source
                }
            );
        }
    }

    #[test]
    fn rejects_empty_attribute_values_in_identities() {
        assert_eq!(
            rejected("trustedIdentities[0]", |s| {
                s["trustedIdentities"] = json!(["x509.subject:C=US,ST=WA,O=a,OU="]);
            }),
            Violation::EmptyDnAttributeValue {
                value: "x509.subject:C=US,ST=WA,O=a,OU=".into(),
                attribute: "OU".into()
            }
        );
    }

    #[test]
    fn rejects_overlapping_identities() {
        let wide = "x509.subject: CN=e2e,O=Notary,L=Seattle,ST=WA,C=US";
        let narrow = "x509.subject: CN=e2e,O=Notary,ST=WA,C=US";
        assert_eq!(
            rejected("trustedIdentities", |s| s["trustedIdentities"] =
                json!([wide, narrow])),
            Violation::OverlappingIdentities {
                first: narrow.into(),
                second: wide.into()
            }
        );
        // Identical identities overlap too, however they are spelt.
        let same = "x509.subject:C=US,ST=WA,O=a";
        let respelt = "x509.subject: O=a, S=WA, C=US";
        assert_eq!(
            rejected("trustedIdentities", |s| s["trustedIdentities"] =
                json!([same, respelt])),
            Violation::OverlappingIdentities {
                first: same.into(),
                second: respelt.into()
            }
        );
    }

    #[test]
    fn rejects_too_many_identities() {
        let identities: Vec<String> = (0..=MAX_TRUSTED_IDENTITIES_PER_STATEMENT)
            .map(|i| format!("x509.subject:C=US,ST=WA,O=org{i}"))
            .collect();
        assert_eq!(
            rejected("trustedIdentities", |s| s["trustedIdentities"] =
                json!(identities)),
            Violation::TooManyIdentities {
                count: MAX_TRUSTED_IDENTITIES_PER_STATEMENT + 1,
                limit: MAX_TRUSTED_IDENTITIES_PER_STATEMENT
            }
        );
    }

    #[test]
    fn keeps_other_prefixes_for_reports_but_never_matches_them() {
        let doc = load_statement(|s| {
            s["trustedIdentities"] = json!([
                "x509.subject:C=US,ST=WA,O=a",
                "plugin.id:xyz",
                "x509.subject :C=US"
            ]);
        })
        .unwrap();
        let policy = &doc.trust_policies()[0];
        assert_eq!(
            policy.ignored_identities(),
            ["plugin.id:xyz", "x509.subject :C=US"]
        );

        let doc = load_statement(|s| s["trustedIdentities"] = json!(["plugin.id:xyz"])).unwrap();
        let identities = doc.trust_policies()[0].trusted_identities();
        assert_eq!(identities, &TrustedIdentities::Subjects(Vec::new()));
        let err = identities
            .check(&subject("CN=x,O=a,ST=WA,C=US"))
            .unwrap_err();
        assert_eq!(err, IdentityError::NoX509Identities);
        assert_eq!(err.to_string(), "no x509 trusted identities configured");
    }

    // --- registry scopes ------------------------------------------------------------------------

    #[test]
    fn rejects_missing_or_empty_registry_scopes() {
        assert_eq!(
            rejected("registryScopes", |s| {
                s.as_object_mut().unwrap().remove("registryScopes");
            }),
            Violation::Missing
        );
        assert_eq!(
            rejected("registryScopes", |s| s["registryScopes"] = json!([])),
            Violation::Empty
        );
    }

    #[test]
    fn rejects_the_wildcard_scope_with_others() {
        assert_eq!(
            rejected("registryScopes", |s| s["registryScopes"] =
                json!(["*", "example.com/a"])),
            Violation::WildcardScopeNotAlone
        );
    }

    #[test]
    fn rejects_scopes_outside_the_reference_grammar() {
        for (scope, problem) in [
            ("localhost:5000\\test-repo", ScopeProblem::MissingRepository),
            ("example.com", ScopeProblem::MissingRepository),
            ("example.com/*", ScopeProblem::Wildcard),
            ("example.com/team*", ScopeProblem::Wildcard),
            ("/repo", ScopeProblem::InvalidDomain),
            ("-example.com/repo", ScopeProblem::InvalidDomain),
            ("example..com/repo", ScopeProblem::InvalidDomain),
            ("example.com:/repo", ScopeProblem::InvalidDomain),
            ("example.com:80a/repo", ScopeProblem::InvalidDomain),
            ("https://example.com/repo", ScopeProblem::InvalidDomain),
            ("[::1]:5000/repo", ScopeProblem::InvalidDomain),
            ("example.com/", ScopeProblem::InvalidRepository),
            ("example.com/Repo", ScopeProblem::InvalidRepository),
            ("example.com/repo:tag", ScopeProblem::InvalidRepository),
            (
                "example.com/repo@sha256:abc",
                ScopeProblem::InvalidRepository,
            ),
            ("example.com/a//b", ScopeProblem::InvalidRepository),
            ("example.com/a/", ScopeProblem::InvalidRepository),
            ("example.com/a___b", ScopeProblem::InvalidRepository),
            ("example.com/a._b", ScopeProblem::InvalidRepository),
            ("example.com/-a", ScopeProblem::InvalidRepository),
            ("example.com/a-", ScopeProblem::InvalidRepository),
        ] {
            assert_eq!(
                rejected("registryScopes[0]", |s| s["registryScopes"] =
                    json!([scope])),
                Violation::InvalidRegistryScope {
                    scope: scope.into(),
                    problem
                },
                "{scope:?}"
            );
        }
    }

    #[test]
    fn accepts_scopes_inside_the_reference_grammar() {
        for scope in [
            "localhost:5000/test-repo",
            "Registry.Example.com/team/app",
            "a/b",
            "local/myocilayout",
            "example.com:443/a__b/c---d/e.f_g9",
            "127.0.0.1:5000/x",
        ] {
            assert!(
                load_statement(|s| s["registryScopes"] = json!([scope])).is_ok(),
                "{scope:?}"
            );
        }
    }

    #[test]
    fn rejects_a_scope_in_two_statements() {
        let mut second = statement();
        second["name"] = json!("other");
        let (statement_ref, field, violation) =
            statement_error(load(&document(vec![statement(), second])));
        assert_eq!(statement_ref, StatementRef::Named("other".into()));
        assert_eq!(field, "registryScopes[0]");
        assert_eq!(
            violation,
            Violation::ScopeUsedTwice {
                scope: "registry.example.com/team/app".into(),
                other: StatementRef::Named("prod".into())
            }
        );
    }

    #[test]
    fn rejects_two_global_statements() {
        let mut first = statement();
        first["registryScopes"] = json!(["*"]);
        let mut second = first.clone();
        second["name"] = json!("other");
        let (_, _, violation) = statement_error(load(&document(vec![first, second])));
        assert!(matches!(violation, Violation::ScopeUsedTwice { scope, .. } if scope == "*"));
    }

    #[test]
    fn rejects_a_scope_repeated_within_one_statement() {
        let scope = "registry.example.com/team/app";
        assert_eq!(
            rejected("registryScopes[1]", |s| s["registryScopes"] =
                json!([scope, scope])),
            Violation::ScopeListedTwice {
                scope: scope.into()
            }
        );
    }

    // --- selection and actions -----------------------------------------------------------------

    #[test]
    fn accepts_a_global_skip_statement_and_reports_it_as_global() {
        let doc = load_statement(|s| {
            skip_statement(s);
            s["registryScopes"] = json!(["*"]);
        })
        .unwrap();
        let policy = doc.policy_for("any.registry/any/repo").unwrap();
        assert!(policy.is_global());
        assert_eq!(
            policy.action(ValidationType::Integrity),
            ValidationAction::Skip
        );
    }

    #[test]
    fn exact_scope_wins_over_the_wildcard() {
        let mut global = statement();
        global["name"] = json!("global");
        global["registryScopes"] = json!(["*"]);
        let doc = load(&document(vec![global, statement()])).unwrap();
        assert_eq!(
            doc.policy_for("registry.example.com/team/app")
                .unwrap()
                .name(),
            "prod"
        );
        assert_eq!(
            doc.policy_for("registry.example.com/team").unwrap().name(),
            "global"
        );
    }

    #[test]
    fn no_applicable_policy_without_a_wildcard() {
        let doc = load(&document(vec![statement()])).unwrap();
        let err = doc.policy_for("registry.example.com/team").unwrap_err();
        assert!(
            matches!(&err, PolicyError::NoApplicableTrustPolicy { scope } if scope == "registry.example.com/team")
        );
        assert_eq!(
            err.to_string(),
            "no applicable trust policy for \"registry.example.com/team\""
        );
    }

    #[test]
    fn actions_follow_the_level_table() {
        use ValidationAction::{Enforce as E, Log as L, Skip as S};
        let table = [
            ("strict", [E, E, E, E, E]),
            ("permissive", [E, E, L, L, L]),
            ("audit", [E, L, L, L, L]),
            ("skip", [S, S, S, S, S]),
        ];
        for (level, expected) in table {
            let doc = load_statement(|s| {
                if level == "skip" {
                    skip_statement(s);
                } else {
                    s["signatureVerification"]["level"] = json!(level);
                }
            })
            .unwrap();
            let policy = &doc.trust_policies()[0];
            let actions = ValidationType::ALL.map(|v| policy.action(v));
            assert_eq!(actions, expected, "{level}");
        }
    }

    #[test]
    fn overrides_replace_the_level_action() {
        let doc = load_statement(|s| {
            s["signatureVerification"] = json!({
                "level": "audit",
                "override": {"authenticity": "enforce", "expiry": "enforce", "revocation": "skip"}
            });
        })
        .unwrap();
        let policy = &doc.trust_policies()[0];
        let actions = ValidationType::ALL.map(|v| policy.action(v));
        use ValidationAction::{Enforce as E, Log as L, Skip as S};
        assert_eq!(actions, [E, E, L, E, S]);
    }

    #[test]
    fn errors_name_the_statement_and_the_field() {
        let err = load_statement(|s| {
            s["signatureVerification"]["override"] = json!({"integrity": "enforce"});
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "trust policy statement \"prod\": signatureVerification.override.integrity: \
             integrity cannot be overridden"
        );
        let err = load_statement(|s| s["name"] = json!(7)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "trust policy statement at index 0: name: expected a string, found a number"
        );
    }

    // --- identity matching ---------------------------------------------------------------------

    fn identities(list: Value) -> TrustedIdentities {
        load_statement(|s| s["trustedIdentities"] = list)
            .unwrap()
            .trust_policies()[0]
            .trusted_identities()
            .clone()
    }

    #[test]
    fn wildcard_accepts_any_leaf_even_an_unparsable_one() {
        let leaf = subject("OU=b,OU=a,CN=x");
        assert_eq!(identities(json!(["*"])).check(&leaf), Ok(()));
    }

    #[test]
    fn identity_matches_when_it_is_a_subset_of_the_leaf() {
        let leaf = subject("CN=SomeCN,OU=SomeOU,O=SomeOrg,L=Seattle,ST=WA,C=US");
        let ids = identities(json!([
            "x509.subject:C=US,ST=WA,O=Other",
            "x509.subject:C=US,S=WA,O=SomeOrg"
        ]));
        assert_eq!(ids.check(&leaf), Ok(()));
    }

    #[test]
    fn mismatch_error_names_the_leaf_and_the_differing_attribute() {
        let leaf = subject("CN=SomeCN,OU=SomeOU,O=SomeOrg,L=Seattle,ST=WA,C=US");
        let ids = identities(json!([
            "x509.subject:C=US,ST=WA,O=Other",
            "x509.subject:C=US,ST=WA,O=SomeOrg,OU=Ops,CN=x"
        ]));
        let err = ids.check(&leaf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "leaf certificate subject \"CN=SomeCN,OU=SomeOU,O=SomeOrg,L=Seattle,ST=WA,C=US\" \
             matches none of the x509.subject trusted identities: \"C=US,ST=WA,O=Other\" \
             (leaf has O=\"SomeOrg\"); \"C=US,ST=WA,O=SomeOrg,OU=Ops,CN=x\" (leaf has OU=\"SomeOU\")"
        );
    }

    #[test]
    fn leaf_missing_an_attribute_is_reported() {
        let leaf = subject("CN=x,O=a,ST=WA,C=US");
        let err = identities(json!(["x509.subject:C=US,ST=WA,O=a,L=Seattle"]))
            .check(&leaf)
            .unwrap_err();
        assert!(err.to_string().ends_with("(leaf has no L)"), "{err}");
    }

    #[test]
    fn unparsable_leaf_subjects_never_match() {
        let ids = identities(json!(["x509.subject:C=US,ST=WA,O=a"]));
        let leaf = subject("OU=b,OU=a,O=a,ST=WA,C=US");
        let err = ids.check(&leaf).unwrap_err();
        assert_eq!(
            err,
            IdentityError::UnparsableLeafSubject {
                subject: "OU=a+OU=b,O=a,ST=WA,C=US".into(),
                source: DnError::MultiValuedRdn
            }
        );
        let leaf = subject("CN=x,O=a,ST=WA");
        assert!(matches!(
            ids.check(&leaf),
            Err(IdentityError::UnparsableLeafSubject {
                source: DnError::MissingMandatoryAttribute { attribute: "C" },
                ..
            })
        ));
    }
}
