{
  "targets": [
    {
      "target_name": "l0sparse",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["<(PRODUCT_DIR)/l0sparse.node"],
          "action": ["node", "scripts/build-native.js", "--copy-to", "<(PRODUCT_DIR)"],
          "message": "Building the LibTorch addon with cmake-js (node-gyp entry point for prebuildify and npm rebuild)"
        }
      ]
    }
  ]
}
