/*
 * A test oracle, never shipped: Zeek's own X.509 code (Zeek 9.1,
 * src/file_analysis/analyzer/x509/X509.cc ParseCertificate, ParseSAN,
 * ParseBasicConstraints; X509Common.cc GetTimeFromAsn1; functions.bif
 * check_hostname, x509_check_cert_hostname; the fingerprint of
 * base/files/x509/main.zeek), copied with Zeek's values replaced by
 * printing, and compiled against the same libcrypto. weir's TypeScript
 * port must print the same for every input (x509 fuzz test).
 *
 * Input on stdin: records of a kind byte, a u32 little-endian length and
 * that many bytes. Kinds:
 *   'C' a DER certificate; 'T' an ASN.1 time (type byte, then content);
 *   'H' a host name check (host, NUL, certname).
 * Output: one line per record. Strings are printed as hex, so nothing needs
 * escaping; an unset value is "-".
 *
 * Build: cc -O1 -o zeek_x509_reference zeek_x509_reference.c -lcrypto
 */
#define _GNU_SOURCE
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Everything printed for one record goes to `out`; weirds to `weirds`, printed last. */
static FILE* out;
static char* weird_text;
static size_t weird_size;
static FILE* weirds;

static void hex(const char* s, int len) {
    if ( len < 0 )
        len = 0;
    for ( int i = 0; i < len; i++ )
        fprintf(out, "%02x", (unsigned char)s[i]);
}

static void weird(const char* name, const char* addl) {
    fprintf(weirds, "%s%s%s;", name, addl && *addl ? ":" : "", addl ? addl : "");
}

/* X509Common::GetTimeFromAsn1, verbatim but for EmitWeird. */
static double GetTimeFromAsn1(const ASN1_TIME* atime) {
    time_t lResult = 0;

    char lBuffer[26];
    char* pBuffer = lBuffer;

    const char* pString = (const char*)(ASN1_STRING_get0_data(atime));
    unsigned int remaining = ASN1_STRING_length(atime);

    if ( ASN1_STRING_type(atime) == V_ASN1_UTCTIME ) {
        if ( remaining < 11 || remaining > 17 ) {
            weird("x509_utc_length", "");
            return 0;
        }

        if ( pString[remaining - 1] != 'Z' ) {
            weird("x509_utc_format", "");
            return 0;
        }

        if ( pString[0] < '5' ) {
            *(pBuffer++) = '2';
            *(pBuffer++) = '0';
        }
        else {
            *(pBuffer++) = '1';
            *(pBuffer++) = '9';
        }

        memcpy(pBuffer, pString, 10);
        pBuffer += 10;
        pString += 10;
        remaining -= 10;
    }
    else if ( ASN1_STRING_type(atime) == V_ASN1_GENERALIZEDTIME ) {
        if ( remaining < 12 || remaining > 23 ) {
            weird("x509_gen_time_length", "");
            return 0;
        }

        memcpy(pBuffer, pString, 12);
        pBuffer += 12;
        pString += 12;
        remaining -= 12;
    }
    else {
        weird("x509_invalid_time_type", "");
        return 0;
    }

    if ( (remaining == 0) || (*pString == 'Z') || (*pString == '-') || (*pString == '+') ) {
        *(pBuffer++) = '0';
        *(pBuffer++) = '0';
    }

    else if ( remaining >= 2 ) {
        *(pBuffer++) = *(pString++);
        *(pBuffer++) = *(pString++);

        remaining -= 2;

        if ( (remaining > 0) && (*pString == '.') ) {
            pString++;
            remaining--;

            while ( (remaining > 0) && (*pString >= '0') && (*pString <= '9') ) {
                pString++;
                remaining--;
            }
        }
    }

    else {
        weird("x509_time_add_char", "");
        return 0;
    }

    *(pBuffer++) = 'Z';
    *(pBuffer++) = '\0';

    time_t lSecondsFromUTC;

    if ( remaining == 0 || *pString == 'Z' )
        lSecondsFromUTC = 0;
    else {
        if ( remaining < 5 ) {
            weird("x509_time_offset_underflow", "");
            return 0;
        }

        if ( (*pString != '+') && (*pString != '-') ) {
            weird("x509_time_offset_type", "");
            return 0;
        }

        lSecondsFromUTC = (time_t)((pString[1] - '0') * 10) + (time_t)((pString[2] - '0') * 60);
        lSecondsFromUTC += (time_t)((pString[3] - '0') * 10) + (pString[4] - '0');

        if ( *pString == '-' )
            lSecondsFromUTC = -lSecondsFromUTC;
    }

    struct tm lTime;
    lTime.tm_sec = ((lBuffer[12] - '0') * 10) + (lBuffer[13] - '0');
    lTime.tm_min = ((lBuffer[10] - '0') * 10) + (lBuffer[11] - '0');
    lTime.tm_hour = ((lBuffer[8] - '0') * 10) + (lBuffer[9] - '0');
    lTime.tm_mday = ((lBuffer[6] - '0') * 10) + (lBuffer[7] - '0');
    lTime.tm_mon = (((lBuffer[4] - '0') * 10) + (lBuffer[5] - '0')) - 1;
    lTime.tm_year = (lBuffer[0] - '0') * 1000 + (lBuffer[1] - '0') * 100 + ((lBuffer[2] - '0') * 10) +
                    (lBuffer[3] - '0');

    if ( lTime.tm_year > 1900 )
        lTime.tm_year -= 1900;

    lTime.tm_wday = 0;
    lTime.tm_yday = 0;
    lTime.tm_isdst = 0;

    lResult = timegm(&lTime);

    if ( lResult ) {
        if ( lTime.tm_isdst != 0 )
            lResult -= 3600;

        lResult += lSecondsFromUTC;
    }

    else
        lResult = 0;

    return lResult;
}

/* functions.bif check_hostname, with std::string_view spelled out. */
static int check_hostname(const char* host, size_t hlen, const char* cert, size_t clen) {
    if ( hlen == clen && memcmp(host, cert, hlen) == 0 )
        return 1;
    const char* star = memchr(cert, '*', clen);
    if ( ! star )
        return 0;
    size_t wildpos = star - cert;
    const char* dot = memchr(cert, '.', clen);
    if ( ! dot )
        return 0;
    size_t firstpos = dot - cert;
    if ( ! memchr(cert + firstpos + 1, '.', clen - firstpos - 1) )
        return 0;
    if ( wildpos + 1 != firstpos )
        return 0;
    const char* hdot = memchr(host, '.', hlen);
    if ( ! hdot )
        return 0;
    size_t host_firstpos = hdot - host;
    if ( hlen - host_firstpos != clen - firstpos ||
         memcmp(host + host_firstpos, cert + firstpos, clen - firstpos) != 0 )
        return 0;
    if ( wildpos ) {
        size_t n = wildpos < hlen ? wildpos : hlen;
        if ( n != wildpos || memcmp(host, cert, wildpos) != 0 )
            return 0;
    }
    return 1;
}

/* x509_check_cert_hostname(cert, host) != "". */
static int check_cert_hostname(X509* cert, const char* host, size_t hlen) {
    int sanpos = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
    if ( sanpos > -1 ) {
        X509_EXTENSION* ex = X509_get_ext(cert, sanpos);
        if ( ! ex )
            return 0;
        GENERAL_NAMES* altname = (GENERAL_NAMES*)X509V3_EXT_d2i(ex);
        if ( ! altname )
            return 0;
        int num_names = sk_GENERAL_NAME_num(altname);
        for ( int i = 0; i < num_names; i++ ) {
            GENERAL_NAME* gen = sk_GENERAL_NAME_value(altname, i);
            if ( gen->type != GEN_DNS )
                continue;
            if ( ASN1_STRING_type(gen->d.ia5) != V_ASN1_IA5STRING )
                continue;
            size_t len = ASN1_STRING_length(gen->d.ia5);
            const char* name = (const char*)ASN1_STRING_get0_data(gen->d.ia5);
            if ( check_hostname(host, hlen, name, len) ) {
                GENERAL_NAMES_free(altname);
                return len > 0;
            }
        }
        GENERAL_NAMES_free(altname);
    }
    else {
        X509_NAME* subject = X509_get_subject_name(cert);
        int lastpos = -1;
        int found_nid = -1;
        while ( (lastpos = X509_NAME_get_index_by_NID(subject, NID_commonName, lastpos)) >= 0 )
            found_nid = lastpos;
        if ( found_nid >= 0 ) {
            char buf[2048];
            BIO* bio = BIO_new(BIO_s_mem());
            ASN1_STRING_print(bio, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, found_nid)));
            size_t len = BIO_gets(bio, buf, sizeof(buf));
            BIO_free(bio);
            if ( check_hostname(host, hlen, buf, len) )
                return len > 0;
        }
    }
    return 0;
}

/* An address as 16 bytes, IPv4 mapped (how Zeek holds every addr). */
static void addr(const unsigned char* p, int len) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if ( len == 4 )
        hex((const char*)mapped, 12);
    hex((const char*)p, len);
}

/* ParseSAN and the script's SubjectAlternativeName: dns, uri, email, ip, other_fields. */
static void parse_san(GENERAL_NAMES* altname) {
    /* Zeek's one loop, for its weirds in its order. */
    for ( int i = 0; i < sk_GENERAL_NAME_num(altname); i++ ) {
        GENERAL_NAME* gen = sk_GENERAL_NAME_value(altname, i);
        if ( gen->type == GEN_DNS || gen->type == GEN_URI || gen->type == GEN_EMAIL ) {
            if ( ASN1_STRING_type(gen->d.ia5) != V_ASN1_IA5STRING )
                weird("x509_san_non_string", "");
        }
        else if ( gen->type == GEN_IPADD ) {
            int ip_len = ASN1_STRING_length(gen->d.ip);
            if ( ip_len != 4 && ip_len != 16 ) {
                char n[16];
                snprintf(n, sizeof(n), "%d", ip_len);
                weird("x509_san_ip_length", n);
            }
        }
    }
    /* Then the four vectors (each created by its first entry) and other_fields. */
    int kinds[4] = {GEN_DNS, GEN_URI, GEN_EMAIL, GEN_IPADD};
    int other = 0;
    for ( int k = 0; k < 4; k++ ) {
        int created = 0;
        int count = 0;
        for ( int i = 0; i < sk_GENERAL_NAME_num(altname); i++ ) {
            GENERAL_NAME* gen = sk_GENERAL_NAME_value(altname, i);
            if ( gen->type != GEN_DNS && gen->type != GEN_URI && gen->type != GEN_EMAIL &&
                 gen->type != GEN_IPADD )
                other = 1;
            if ( gen->type != kinds[k] )
                continue;
            if ( k < 3 && ASN1_STRING_type(gen->d.ia5) != V_ASN1_IA5STRING )
                continue;
            if ( ! created )
                fprintf(out, "[");
            created = 1;
            if ( k < 3 ) {
                fprintf(out, count++ ? "," : "");
                hex((const char*)ASN1_STRING_get0_data(gen->d.ia5), ASN1_STRING_length(gen->d.ia5));
                continue;
            }
            int ip_len = ASN1_STRING_length(gen->d.ip);
            if ( ip_len == 4 || ip_len == 16 ) {
                fprintf(out, count++ ? "," : "");
                addr(ASN1_STRING_get0_data(gen->d.ip), ip_len);
            }
        }
        fprintf(out, created ? "] " : "- ");
    }
    fprintf(out, "other=%d", other);
}

static void parse_certificate(const unsigned char* der, long length, const char* host, size_t hlen) {
    const unsigned char* cert_char = der;
    X509* ssl_cert = d2i_X509(NULL, &cert_char, length);
    if ( ! ssl_cert ) {
        weird("x509_cert_parse_error", "");
        fprintf(out, "null");
        ERR_clear_error();
        return;
    }

    char buf[2048];
    memset(buf, 0, sizeof(buf));
    BIO* bio = BIO_new(BIO_s_mem());

    /* base/files/x509/main.zeek: fp = sha256_hash(x509_get_certificate_string(cert_ref)). */
    unsigned char* enc = NULL;
    int enclen = i2d_X509(ssl_cert, &enc);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(enc, enclen, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(enc);
    fprintf(out, "fp=");
    hex((const char*)md, mdlen);

    fprintf(out, " version=%llu", (unsigned long long)(uint64_t)(X509_get_version(ssl_cert) + 1));

    i2a_ASN1_INTEGER(bio, X509_get_serialNumber(ssl_cert));
    int len = BIO_read(bio, buf, sizeof(buf));
    fprintf(out, " serial=");
    hex(buf, len);
    BIO_reset(bio);

    X509_NAME_print_ex(bio, X509_get_subject_name(ssl_cert), 0, XN_FLAG_RFC2253);
    len = BIO_gets(bio, buf, sizeof(buf));
    fprintf(out, " subject=");
    hex(buf, len);
    BIO_reset(bio);

    X509_NAME* subject_name = X509_get_subject_name(ssl_cert);
    int namepos = -1;
    for ( ;; ) {
        int j = X509_NAME_get_index_by_NID(subject_name, NID_commonName, namepos);
        if ( j == -1 )
            break;
        namepos = j;
    }
    fprintf(out, " cn=");
    if ( namepos != -1 ) {
        ASN1_STRING_print(bio, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject_name, namepos)));
        len = BIO_gets(bio, buf, sizeof(buf));
        hex(buf, len);
        BIO_reset(bio);
    }
    else
        fprintf(out, "-");

    X509_NAME_print_ex(bio, X509_get_issuer_name(ssl_cert), 0, XN_FLAG_RFC2253);
    len = BIO_gets(bio, buf, sizeof(buf));
    fprintf(out, " issuer=");
    hex(buf, len);
    BIO_reset(bio);

    double nb = GetTimeFromAsn1(X509_get_notBefore(ssl_cert));
    double na = GetTimeFromAsn1(X509_get_notAfter(ssl_cert));
    fprintf(out, " times=%.0f,%.0f", nb, na);

    ASN1_OBJECT* algorithm;
    const unsigned char* pub_key_bytes;
    int pub_key_len;
    X509_PUBKEY_get0_param(&algorithm, &pub_key_bytes, &pub_key_len, NULL, X509_get_X509_PUBKEY(ssl_cert));
    if ( ! i2t_ASN1_OBJECT(buf, 255, algorithm) )
        buf[0] = 0;
    fprintf(out, " key_alg=");
    hex(buf, strlen(buf));

    const ASN1_OBJECT* alg;
    X509_ALGOR_get0(&alg, NULL, NULL, X509_get0_tbs_sigalg(ssl_cert));
    i2a_ASN1_OBJECT(bio, alg);
    len = BIO_gets(bio, buf, sizeof(buf));
    fprintf(out, " tbs_sig_alg=");
    hex(buf, len);
    BIO_free(bio);

    if ( ! i2t_ASN1_OBJECT(buf, 255, OBJ_nid2obj(X509_get_signature_nid(ssl_cert))) )
        buf[0] = 0;
    fprintf(out, " sig_alg=");
    hex(buf, strlen(buf));

    EVP_PKEY* pkey = NULL;
    if ( OBJ_obj2nid(algorithm) == NID_md5WithRSAEncryption )
        pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &pub_key_bytes, pub_key_len);
    else
        pkey = X509_extract_key(ssl_cert);

    const char* key_type = "-";
    char exponent_text[4096] = "-";
    char curve_text[256] = "-";
    char length_text[32] = "-";
    if ( pkey != NULL ) {
        if ( EVP_PKEY_base_id(pkey) == EVP_PKEY_DSA )
            key_type = "dsa";
        else if ( EVP_PKEY_base_id(pkey) == EVP_PKEY_RSA ) {
            key_type = "rsa";
            BIGNUM* e = NULL;
            EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e);
            char* exponent = e ? BN_bn2dec(e) : NULL; /* Zeek would call BN_bn2dec(NULL) */
            BN_free(e);
            if ( exponent != NULL ) {
                snprintf(exponent_text, sizeof(exponent_text), "%s", exponent);
                OPENSSL_free(exponent);
            }
        }
        else if ( EVP_PKEY_base_id(pkey) == EVP_PKEY_EC ) {
            key_type = "ecdsa";
            static char cbuf[256];
            if ( EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, cbuf, 255, NULL) )
                snprintf(curve_text, sizeof(curve_text), "%s", cbuf);
        }
        else {
            const char* type_name = EVP_PKEY_get0_type_name(pkey);
            if ( type_name )
                key_type = type_name;
        }
        int bits = EVP_PKEY_bits(pkey);
        unsigned int length = bits < 0 ? 0 : bits;
        if ( length > 0 )
            snprintf(length_text, sizeof(length_text), "%u", length);
        fprintf(out, " key=%s exponent=%s curve=%s length=%s", key_type, exponent_text, curve_text,
                length_text);
        EVP_PKEY_free(pkey);
    }
    else
        fprintf(out, " key=- exponent=- curve=- length=-");

    /* EndOfFile's extension loop, as the script keeps it: the last SAN and BC that decoded. */
    char* san = NULL;
    char* bc = NULL;
    int num_ext = X509_get_ext_count(ssl_cert);
    for ( int k = 0; k < num_ext; ++k ) {
        X509_EXTENSION* ex = X509_get_ext(ssl_cert, k);
        if ( ! ex )
            continue;
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ex));
        if ( nid == NID_basic_constraints ) {
            BASIC_CONSTRAINTS* constr = (BASIC_CONSTRAINTS*)X509V3_EXT_d2i(ex);
            if ( constr ) {
                free(bc);
                if ( constr->pathlen )
                    asprintf(&bc, "%d/%llu", constr->ca ? 1 : 0,
                             (unsigned long long)(uint64_t)(int64_t)(int32_t)ASN1_INTEGER_get(constr->pathlen));
                else
                    asprintf(&bc, "%d/-", constr->ca ? 1 : 0);
                BASIC_CONSTRAINTS_free(constr);
            }
            else
                weird("x509_invalid_basic_constraint", "");
        }
        else if ( nid == NID_subject_alt_name ) {
            GENERAL_NAMES* altname = (GENERAL_NAMES*)X509V3_EXT_d2i(ex);
            if ( ! altname ) {
                weird("x509_san_parse_error", "");
                continue;
            }
            FILE* saved = out;
            size_t size = 0;
            free(san);
            san = NULL;
            out = open_memstream(&san, &size);
            parse_san(altname);
            fclose(out);
            out = saved;
            GENERAL_NAMES_free(altname);
        }
    }
    fprintf(out, " bc=%s san=%s", bc ? bc : "-", san ? san : "-");
    free(bc);
    free(san);

    fprintf(out, " host=%d", check_cert_hostname(ssl_cert, host, hlen));
    X509_free(ssl_cert);
    ERR_clear_error();
}

static uint32_t u32(const unsigned char* p) {
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

int main(void) {
    unsigned char head[5];
    out = stdout;
    while ( fread(head, 1, 5, stdin) == 5 ) {
        uint32_t len = u32(head + 1);
        unsigned char* data = malloc(len + 1);
        if ( len > 0 && fread(data, 1, len, stdin) != len )
            return 2;
        weirds = open_memstream(&weird_text, &weird_size);
        if ( head[0] == 'C' ) {
            /* u32 DER length, the DER, then the host name to check. */
            uint32_t derlen = u32(data);
            parse_certificate(data + 4, derlen, (const char*)data + 4 + derlen, len - 4 - derlen);
        }
        else if ( head[0] == 'T' ) {
            ASN1_STRING* s = ASN1_STRING_type_new(data[0]);
            ASN1_STRING_set(s, data + 1, len - 1);
            fprintf(out, "time=%.0f", GetTimeFromAsn1(s));
            ASN1_STRING_free(s);
        }
        else if ( head[0] == 'H' ) {
            const unsigned char* nul = memchr(data, 0, len);
            size_t hlen = nul - data;
            fprintf(out, "match=%d", check_hostname((const char*)data, hlen, (const char*)nul + 1, len - hlen - 1));
        }
        fclose(weirds);
        fprintf(out, " weirds=%s\n", weird_text);
        free(weird_text);
        weird_text = NULL;
        free(data);
    }
    return 0;
}
