// The paaf app: one Compose screen per screen model of the library (Overview, Protect, Fix,
// Journal, Onboarding), bottom navigation by PAAF step. Not built in CI: see
// ../settings.gradle.kts.
plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    namespace = "dev.paaf.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.paaf.app"
        // java.time (the journal's timestamps) without desugaring.
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1"
    }

    buildFeatures {
        compose = true
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
    implementation(project(":paaf"))
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.material3)
    implementation(libs.compose.material.icons.core)
    implementation(libs.activity.compose)
    implementation(libs.lifecycle.viewmodel.compose)
    implementation(libs.lifecycle.runtime.compose)
    implementation(libs.play.services.code.scanner)
}
