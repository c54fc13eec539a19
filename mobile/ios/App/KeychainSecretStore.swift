import Foundation
import Paaf
import Security

/// paaf's secrets (host passwords, key passphrases) in the iOS Keychain, readable only on this
/// device once it has been unlocked.
final class KeychainSecretStore: SecretStore, @unchecked Sendable {
    private let service = "dev.paaf.secrets"

    func get(name: String) throws -> String? {
        var query = base(name)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        try check(status)
        return (item as? Data).flatMap { String(data: $0, encoding: .utf8) }
    }

    func set(name: String, value: String) throws {
        SecItemDelete(base(name) as CFDictionary)
        var query = base(name)
        query[kSecValueData as String] = Data(value.utf8)
        query[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        try check(SecItemAdd(query as CFDictionary, nil))
    }

    func delete(name: String) throws {
        let status = SecItemDelete(base(name) as CFDictionary)
        if status != errSecItemNotFound { try check(status) }
    }

    private func base(_ name: String) -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: name]
    }

    /// A Keychain failure reaches paaf as an access error, code `secret`.
    private func check(_ status: OSStatus) throws {
        guard status == errSecSuccess else {
            let text = SecCopyErrorMessageString(status, nil) as String? ?? "OSStatus \(status)"
            throw PaafError.Access(code: .secret, reason: "iOS Keychain: \(text)")
        }
    }
}
