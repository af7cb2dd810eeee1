// Loads @peculiar/x509 for the rest of the lib: its dependency-injection container (tsyringe)
// needs `reflect-metadata` evaluated first, and ES modules evaluate imports in source order.
// Every file of this lib imports x509 classes from here, never from "@peculiar/x509" directly.
import "reflect-metadata";

export {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  Pkcs10CertificateRequestGenerator,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from "@peculiar/x509";
