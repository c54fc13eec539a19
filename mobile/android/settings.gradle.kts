// paaf for Android: the library module `paaf` (the generated Kotlin bindings, PaafFlows.kt and
// libpaaf_mobile.so from ../build-android.sh) and the app `app` (Compose screens over the
// screen models). Not built in CI (no Android SDK there); the same bindings are compiled and
// tested on the JVM by tests/mobile/kotlin/run.sh, and tests/mobile/check-app-symbols.py checks
// that the app names only what they declare.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "paaf-android"
include(":paaf", ":app")
