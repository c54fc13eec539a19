// paaf for Android: the library module `paaf` (the generated Kotlin bindings, PaafFlows.kt and
// libpaaf_mobile.so from ../build-android.sh) and an example app. Not built in CI (no Android
// SDK there); the same bindings are compiled and tested on the JVM by tests/mobile/kotlin/run.sh.
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
include(":paaf", ":example")
