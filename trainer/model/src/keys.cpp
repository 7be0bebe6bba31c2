#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "disco/bundle_writer.h"
#include "disco/model/export.h"

namespace disco::model {

std::string keygen(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw TrainError(dir + ": cannot create key folder: " + ec.message());
  const fs::path priv = fs::path(dir) / "private.pem";
  if (fs::exists(priv)) throw TrainError(priv.string() + ": a private key already exists; refusing to overwrite it");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                         &EVP_PKEY_free);
  if (!key) throw TrainError("keygen: OpenSSL could not generate a P-256 key");
  // private key, PKCS#8 PEM, owner-only
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
      throw TrainError("keygen: cannot encode the private key");
    char* p = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &p);
    const mode_t old = umask(077);
    std::ofstream f(priv, std::ios::binary | std::ios::trunc);
    umask(old);
    f.write(p, n);
    if (!f.flush()) throw TrainError(priv.string() + ": cannot write");
    fs::permissions(priv, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
  }
  // public key: SPKI DER + PEM
  unsigned char* der = nullptr;
  const int dn = i2d_PUBKEY(key.get(), &der);
  if (dn <= 0) throw TrainError("keygen: cannot encode the public key");
  std::vector<uint8_t> spki(der, der + dn);
  OPENSSL_free(der);
  write_file((fs::path(dir) / "public.der").string(), spki);
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), key.get());
    char* p = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &p);
    write_file((fs::path(dir) / "public.pem").string(), std::vector<uint8_t>(p, p + n));
  }
  const std::string id = key_id_for_spki(spki);
  write_file((fs::path(dir) / "key_id.txt").string(), std::vector<uint8_t>(id.begin(), id.end()));
  return id;
}

}  // namespace disco::model
