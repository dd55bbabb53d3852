import COpenSSL
import Testing

/// The system library target links the libcrypto we expect: Cryptography relies
/// on OpenSSL 3 APIs (EVP_MD_fetch, EVP_DigestSign one-shot for Ed25519).
@Suite("COpenSSL system library")
struct COpenSSLTests {
    @Test func linksOpenSSL3() {
        #expect(OpenSSL_version_num() >= 0x3000_0000)
        let version = String(cString: OpenSSL_version(OPENSSL_VERSION))
        #expect(version.hasPrefix("OpenSSL 3"), "\(version)")
    }

    @Test func providesSHA256AndEd25519() {
        let md = EVP_MD_fetch(nil, "SHA256", nil)
        #expect(md != nil)
        EVP_MD_free(md)
        let context = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil)
        #expect(context != nil)
        EVP_PKEY_CTX_free(context)
    }

    @Test func shimWrapsTheMemoryBIOMacro() {
        let bio = BIO_new(BIO_s_mem())
        #expect(bio != nil)
        defer { BIO_free(bio) }
        #expect(BIO_write(bio, "clearledger", 11) == 11)
        var data: UnsafeMutablePointer<CChar>?
        let length = clearledger_BIO_get_mem_data(bio, &data)
        #expect(length == 11)
        if let data { #expect(String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self) == "clearledger") }
    }
}
