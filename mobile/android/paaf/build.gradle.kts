// The paaf Android library. Not built in CI: see ../settings.gradle.kts.
//   src/main/kotlin/dev/paaf/{core,mobile}/  generated bindings (scripts/mobile-bindings.sh)
//   src/main/kotlin/dev/paaf/PaafFlows.kt     coroutine/Flow helpers over them
//   src/main/jniLibs/<abi>/libpaaf_mobile.so  from mobile/build-android.sh (not checked in)
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "dev.paaf"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // The bindings call libpaaf_mobile.so through JNA; the aar carries its native part.
    api(libs.jna) { artifact { type = "aar" } }
    api(libs.kotlinx.coroutines.android)
}
