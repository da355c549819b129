{
  "variables": {
    "lowbit_cflags": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fvisibility=hidden"]
  },
  "target_defaults": {
    "defines": ["NAPI_VERSION=9"],
    "cflags_cc": ["-std=c++17", "<@(lowbit_cflags)"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20", "-std=c++20"],
    "xcode_settings": {
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "OTHER_CPLUSPLUSFLAGS": ["<@(lowbit_cflags)"]
    },
    "msvs_settings": {
      "VCCLCompilerTool": {"ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2", "/fp:precise"]}
    }
  },
  "targets": [
    {
      "target_name": "lowbit_core",
      "type": "static_library",
      "sources": [
        "csrc/core/quantize.cc"
      ]
    },
    {
      "target_name": "lowbit",
      "dependencies": [
        "lowbit_core",
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "sources": [
        "csrc/napi/addon.cc",
        "csrc/napi/args.cc",
        "csrc/napi/quantize_napi.cc"
      ]
    }
  ]
}
