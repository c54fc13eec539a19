// The paaf Android library. Not built in CI: see ../settings.gradle.kts.
//   src/main/kotlin/dev/paaf/{core,mobile}/  generated bindings (scripts/mobile-bindings.sh)
//   src/main/kotlin/dev/paaf/PaafFlows.kt     coroutine/Flow helpers over them
//   src/main/jniLibs/<abi>/libpaaf_mobile.so  from mobile/build-android.sh (not checked in)
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
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
    api("net.java.dev.jna:jna:5.15.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
}
