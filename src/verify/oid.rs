//! Object identifiers the core recognises, spelled out once so that every comparison reads
//! against a named constant.

use const_oid::ObjectIdentifier as Oid;

macro_rules! oids {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        $($(#[$doc])* pub const $name: Oid = Oid::new_unwrap($value);)*
    };
}

oids! {
    /// rsaEncryption (RFC 8017).
    RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
    /// id-RSASSA-PSS (RFC 4055).
    RSASSA_PSS = "1.2.840.113549.1.1.10";
    /// id-mgf1 (RFC 8017).
    MGF1 = "1.2.840.113549.1.1.8";
    /// sha1WithRSAEncryption: refused everywhere.
    SHA1_WITH_RSA = "1.2.840.113549.1.1.5";
    /// sha256WithRSAEncryption.
    SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
    /// sha384WithRSAEncryption.
    SHA384_WITH_RSA = "1.2.840.113549.1.1.12";
    /// sha512WithRSAEncryption.
    SHA512_WITH_RSA = "1.2.840.113549.1.1.13";
    /// id-ecPublicKey.
    EC_PUBLIC_KEY = "1.2.840.10045.2.1";
    /// secp256r1 / P-256.
    SECP256R1 = "1.2.840.10045.3.1.7";
    /// secp384r1 / P-384.
    SECP384R1 = "1.3.132.0.34";
    /// secp521r1 / P-521.
    SECP521R1 = "1.3.132.0.35";
    /// ecdsa-with-SHA1: refused everywhere.
    ECDSA_WITH_SHA1 = "1.2.840.10045.4.1";
    /// ecdsa-with-SHA256.
    ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
    /// ecdsa-with-SHA384.
    ECDSA_WITH_SHA384 = "1.2.840.10045.4.3.3";
    /// ecdsa-with-SHA512.
    ECDSA_WITH_SHA512 = "1.2.840.10045.4.3.4";
    /// id-sha1.
    SHA1 = "1.3.14.3.2.26";
    /// id-sha256.
    SHA256 = "2.16.840.1.101.3.4.2.1";
    /// id-sha384.
    SHA384 = "2.16.840.1.101.3.4.2.2";
    /// id-sha512.
    SHA512 = "2.16.840.1.101.3.4.2.3";

    /// id-ce-keyUsage.
    KEY_USAGE = "2.5.29.15";
    /// id-ce-basicConstraints.
    BASIC_CONSTRAINTS = "2.5.29.19";
    /// id-ce-extKeyUsage.
    EXT_KEY_USAGE = "2.5.29.37";
    /// id-ce-cRLDistributionPoints.
    CRL_DISTRIBUTION_POINTS = "2.5.29.31";
    /// id-ce-freshestCRL (delta CRL locations).
    FRESHEST_CRL = "2.5.29.46";
    /// id-pe-authorityInfoAccess.
    AUTHORITY_INFO_ACCESS = "1.3.6.1.5.5.7.1.1";
    /// id-ad-ocsp (an AIA access method).
    AD_OCSP = "1.3.6.1.5.5.7.48.1";
    /// id-ce-authorityKeyIdentifier.
    AUTHORITY_KEY_IDENTIFIER = "2.5.29.35";

    /// id-ce-cRLNumber (CRL extension).
    CRL_NUMBER = "2.5.29.20";
    /// id-ce-deltaCRLIndicator (CRL extension: the base CRL number of a delta CRL).
    DELTA_CRL_INDICATOR = "2.5.29.27";
    /// id-ce-issuingDistributionPoint (CRL extension: the CRL's scope).
    ISSUING_DISTRIBUTION_POINT = "2.5.29.28";
    /// id-ce-cRLReasons (CRL entry extension).
    CRL_REASON = "2.5.29.21";
    /// id-ce-invalidityDate (CRL entry extension).
    INVALIDITY_DATE = "2.5.29.24";
    /// id-ce-certificateIssuer (CRL entry extension, indirect CRLs only).
    CERTIFICATE_ISSUER = "2.5.29.29";

    /// anyExtendedKeyUsage: the spec bans it on a code-signing leaf.
    ANY_EKU = "2.5.29.37.0";
    /// id-kp-serverAuth.
    KP_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    /// id-kp-clientAuth.
    KP_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    /// id-kp-emailProtection.
    KP_EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4";
    /// id-kp-timeStamping.
    KP_TIME_STAMPING = "1.3.6.1.5.5.7.3.8";
    /// id-kp-OCSPSigning.
    KP_OCSP_SIGNING = "1.3.6.1.5.5.7.3.9";

    /// id-signedData (CMS).
    SIGNED_DATA = "1.2.840.113549.1.7.2";
    /// id-data (CMS).
    DATA = "1.2.840.113549.1.7.1";
    /// id-ct-TSTInfo (RFC 3161).
    CT_TST_INFO = "1.2.840.113549.1.9.16.1.4";
    /// id-contentType signed attribute.
    AA_CONTENT_TYPE = "1.2.840.113549.1.9.3";
    /// id-messageDigest signed attribute.
    AA_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
    /// id-signingTime signed attribute.
    AA_SIGNING_TIME = "1.2.840.113549.1.9.5";
    /// id-aa-signingCertificate (ESS v1, RFC 2634).
    AA_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12";
    /// id-aa-signingCertificateV2 (ESS v2, RFC 5035 / RFC 5816).
    AA_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47";
    /// The ETSI baseline time-stamp policy (RFC 3628), which implies 1 s accuracy in notation.
    TSP_BASELINE_POLICY = "0.4.0.2023.1.1";
}
