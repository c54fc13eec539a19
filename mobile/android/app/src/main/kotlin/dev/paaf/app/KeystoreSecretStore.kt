package dev.paaf.app

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import dev.paaf.core.ErrorCode
import dev.paaf.mobile.PaafException
import dev.paaf.mobile.SecretStore
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * paaf's secrets (host passwords, key passphrases) kept with the Android Keystore: an AES-GCM
 * key that never leaves the keystore seals each value; only the sealed bytes are stored, in the
 * app's private preferences.
 */
class KeystoreSecretStore(context: Context) : SecretStore {
    private val prefs = context.getSharedPreferences("paaf-secrets", Context.MODE_PRIVATE)
    private val key: SecretKey by lazy { loadOrCreateKey() }

    override fun get(name: String): String? = keystore {
        val sealed = prefs.getString(name, null) ?: return@keystore null
        val bytes = Base64.decode(sealed, Base64.NO_WRAP)
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, bytes, 0, IV_BYTES))
        String(cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES), Charsets.UTF_8)
    }

    override fun set(name: String, value: String) = keystore {
        val cipher = Cipher.getInstance(TRANSFORMATION).apply { init(Cipher.ENCRYPT_MODE, key) }
        val sealed = cipher.iv + cipher.doFinal(value.toByteArray(Charsets.UTF_8))
        prefs.edit().putString(name, Base64.encodeToString(sealed, Base64.NO_WRAP)).apply()
    }

    override fun delete(name: String) = keystore { prefs.edit().remove(name).apply() }

    /** A keystore failure (locked, key invalidated) reaches paaf as an access error, code SECRET. */
    private inline fun <T> keystore(block: () -> T): T =
        try {
            block()
        } catch (e: GeneralSecurityException) {
            throw PaafException.Access(ErrorCode.SECRET, "Android Keystore: ${e.message}")
        }

    private fun loadOrCreateKey(): SecretKey {
        val store = KeyStore.getInstance(PROVIDER).apply { load(null) }
        (store.getKey(ALIAS, null) as SecretKey?)?.let { return it }
        val spec = KeyGenParameterSpec.Builder(
            ALIAS,
            KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT,
        )
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
            .apply { init(spec) }
            .generateKey()
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
        const val ALIAS = "paaf-secrets"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
    }
}
