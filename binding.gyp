# GCC 12's own AVX-512 headers (avx512fintrin.h: _mm512_undefined_* used as pass-through operands)
# trip its -Wmaybe-uninitialized on every intrinsic of the AVX-512 translation units: the warning is
# silenced for those two kernel sets only (lowbit_avx512_quiet), the code stays under -Wall elsewhere.
{
  "variables": {
    "lowbit_avx512_quiet": ["-Wno-maybe-uninitialized", "-Wno-uninitialized"],
    "lowbit_cflags": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fvisibility=hidden"],
    "lowbit_x86_sources": [
      "csrc/x86/kernel_table.cc",
      "csrc/x86/plain_kernels.cc",
      "csrc/x86/gemm_packed.cc",
      "csrc/x86/gemm_packed_kquant.cc",
      "csrc/x86/gemm_kquant.cc",
      "csrc/x86/probes.cc",
      "csrc/x86/convert.cc",
      "csrc/x86/dequantize_blocks.cc"
    ],
    "lowbit_arm_sources": [
      "csrc/arm/kernel_table.cc",
      "csrc/arm/plain_kernels.cc",
      "csrc/arm/gemm_packed.cc",
      "csrc/arm/gemm_packed_kquant.cc",
      "csrc/arm/gemm_kquant.cc",
      "csrc/arm/probes.cc",
      "csrc/arm/convert.cc",
      "csrc/arm/dequantize_blocks.cc"
    ]
  },
  "target_defaults": {
    "defines": ["NAPI_VERSION=9"],
    "cflags_cc": ["-std=c++17", "<@(lowbit_cflags)"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20", "-std=c++20"],
    "xcode_settings": {
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "MACOSX_DEPLOYMENT_TARGET": "11.0",
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
        "csrc/formats/quantize.cc",
        "csrc/formats/dequantize_codes.cc",
        "csrc/formats/nibble_order.cc",
        "csrc/core/matmul_ref.cc",
        "csrc/gemm/matmul.cc",
        "csrc/gemm/matmul_super_blocks.cc",
        "csrc/gemm/activations_i8.cc",
        "csrc/formats/kquants.cc",
        "csrc/formats/ggml_search.cc",
        "csrc/formats/ggml_types.cc",
        "csrc/formats/q4_1_q5.cc",
        "csrc/formats/tq.cc",
        "csrc/formats/iq4.cc",
        "csrc/formats/q2_q3_k.cc",
        "csrc/core/gemm_kquant_ref.cc",
        "csrc/core/gemm_packed_kquant_ref.cc",
        "csrc/gemm/packed_kquant.cc",
        "csrc/gemm/packed.cc",
        "csrc/gemm/prepared.cc",
        "csrc/runtime/thread_pool.cc",
        "csrc/runtime/cpu_features.cc",
        "csrc/runtime/dispatch.cc",
        "csrc/runtime/probe.cc",
        "csrc/calibrate/linalg.cc",
        "csrc/calibrate/gptq.cc",
        "csrc/calibrate/awq.cc",
        "csrc/calibrate/calibrate.cc",
        "csrc/calibrate/hadamard.cc",
        "csrc/runtime/work.cc"
      ]
    },
    {
      "target_name": "lowbit_io",
      "type": "static_library",
      "sources": ["csrc/io/mapped_file.cc", "csrc/io/gguf.cc"]
    },
    {
      "target_name": "lowbit_llm",
      "type": "static_library",
      "sources": ["csrc/llm/ops.cc", "csrc/llm/attention.cc", "csrc/llm/model.cc"]
    },
    {
      "target_name": "lowbit_x86_avx2",
      "type": "static_library",
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<@(lowbit_x86_sources)"],
          "defines": ["LOWBIT_SET_AVX2"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<@(lowbit_cflags)", "-mavx2", "-mfma", "-mf16c"]},
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/arch:AVX2"]}}
        }]
      ]
    },
    {
      "target_name": "lowbit_x86_avxvnni",
      "type": "static_library",
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<@(lowbit_x86_sources)"],
          "defines": ["LOWBIT_SET_AVXVNNI"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavxvnni"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<@(lowbit_cflags)", "-mavx2", "-mfma", "-mf16c", "-mavxvnni"]},
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/arch:AVX2"]}}
        }]
      ]
    },
    {
      "target_name": "lowbit_x86_avx512",
      "type": "static_library",
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<@(lowbit_x86_sources)"],
          "defines": ["LOWBIT_SET_AVX512"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "<@(lowbit_avx512_quiet)"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<@(lowbit_cflags)", "-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq"]},
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/arch:AVX512"]}}
        }]
      ]
    },
    {
      "target_name": "lowbit_x86_avx512vnni",
      "type": "static_library",
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<@(lowbit_x86_sources)"],
          "defines": ["LOWBIT_SET_AVX512VNNI"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512vnni", "<@(lowbit_avx512_quiet)"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<@(lowbit_cflags)", "-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512vnni"]},
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/arch:AVX512"]}}
        }]
      ]
    },
    {
      "target_name": "lowbit_arm_neon",
      "type": "static_library",
      "conditions": [
        ["target_arch=='arm64'", {
          "sources": ["<@(lowbit_arm_sources)"],
          "defines": ["LOWBIT_SET_NEON"],
          "cflags_cc": ["-march=armv8-a"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<@(lowbit_cflags)", "-march=armv8-a"]}
        }]
      ]
    },
    {
      "target_name": "lowbit_arm_dotprod",
      "type": "static_library",
      "conditions": [
        ["target_arch=='arm64'", {
          "sources": ["<@(lowbit_arm_sources)"],
          "defines": ["LOWBIT_SET_NEON_DOTPROD"],
          "cflags_cc": ["-march=armv8.2-a+dotprod"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<@(lowbit_cflags)", "-march=armv8.2-a+dotprod"]}
        }]
      ]
    },
    {
      "target_name": "lowbit_arm_i8mm",
      "type": "static_library",
      "conditions": [
        ["target_arch=='arm64'", {
          "sources": ["<@(lowbit_arm_sources)"],
          "defines": ["LOWBIT_SET_NEON_I8MM"],
          "cflags_cc": ["-march=armv8.2-a+dotprod+i8mm"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<@(lowbit_cflags)", "-march=armv8.2-a+dotprod+i8mm"]}
        }]
      ]
    },
    {
      "target_name": "lowbit",
      "defines": ["NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "dependencies": [
        "lowbit_llm",
        "lowbit_core",
        "lowbit_io",
        "lowbit_x86_avx2",
        "lowbit_x86_avxvnni",
        "lowbit_x86_avx512",
        "lowbit_x86_avx512vnni",
        "lowbit_arm_neon",
        "lowbit_arm_dotprod",
        "lowbit_arm_i8mm",
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "sources": [
        "csrc/napi/addon.cc",
        "csrc/napi/args.cc",
        "csrc/napi/async_call.cc",
        "csrc/napi/pinned.cc",
        "csrc/napi/qmatrix_napi.cc",
        "csrc/napi/scratch.cc",
        "csrc/napi/quantize_napi.cc",
        "csrc/napi/matmul_napi.cc",
        "csrc/napi/prepare_napi.cc",
        "csrc/napi/cpu_napi.cc",
        "csrc/napi/formats_napi.cc",
        "csrc/napi/calibrate_napi.cc",
        "csrc/napi/file_napi.cc",
        "csrc/napi/gguf_napi.cc",
        "csrc/napi/memory_napi.cc",
        "csrc/napi/llm_napi.cc",
        "csrc/napi/llm_batch_napi.cc"
      ]
    }
  ]
}
