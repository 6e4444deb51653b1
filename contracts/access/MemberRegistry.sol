// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";
import {IMemberHoldings} from "../interfaces/IMemberHoldings.sol";
import {Roles} from "../libraries/Roles.sol";

/// @title Member registry: who may do what on the ledger.
/// @notice Operators (OpenZeppelin AccessControl, OPERATOR_ROLE) admit members and manage their roles, status,
///         KYC hash, related-party group and credit limit. The ledger contracts ask this contract for every
///         permission check and report obligors' outstanding payables and defaults through the ledger hooks.
contract MemberRegistry is AccessControl, IMemberRegistry {
    /// @notice Role of consortium operators.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @dev Hot word: everything a permission check needs is read in one SLOAD.
    struct Core {
        address account;
        uint8 roles;
        Status status;
        uint32 defaultCount;
        bool issuanceBlocked;
        bool rotating; // holdings frozen until the rotation's Transfer events are emitted
    }

    struct Rotation {
        address previous;
        uint32 id;
    }

    struct Credit {
        uint128 creditLimit;
        uint128 outstanding;
    }

    mapping(uint32 memberId => Core) private _core;
    mapping(uint32 memberId => Credit) private _credit;
    mapping(uint32 memberId => uint64) private _group;
    mapping(uint32 memberId => bytes32) private _kyc;
    mapping(address account => uint32) private _idOf;
    mapping(address account => bool) private _ledger;
    mapping(address account => uint32) private _formerIdOf;
    mapping(uint32 memberId => Rotation) private _rotation;
    mapping(address account => bool) private _listed;
    /// @dev Every contract ever marked as ledger contract (checked against `_ledger` when used).
    address[] private _ledgerList;
    uint32 private _count;
    bool private _blockIssuanceOnDefault = true;
    uint32 private _rotationCount;

    /// @param admin Receives DEFAULT_ADMIN_ROLE and OPERATOR_ROLE.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
        emit BlockIssuanceOnDefaultSet(true);
    }

    modifier onlyOperator() {
        if (!hasRole(OPERATOR_ROLE, msg.sender)) revert NotOperator(msg.sender);
        _;
    }

    modifier onlyLedger() {
        if (!_ledger[msg.sender]) revert NotLedgerContract(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ operator actions

    /// @inheritdoc IMemberRegistry
    function admit(address account, uint8 roles, bytes32 kycHash, uint64 groupId, uint128 creditLimit)
        external
        onlyOperator
        returns (uint32 memberId)
    {
        if (account == address(0)) revert ZeroAddress();
        if (roles == 0 || roles > Roles.ALL) revert InvalidRoles(roles);
        uint32 existing = _idOf[account];
        if (existing != 0) revert AccountAlreadyRegistered(account, existing);
        memberId = ++_count;
        _core[memberId] = Core(account, roles, Status.Active, 0, false, false);
        _idOf[account] = memberId;
        emit MemberAdmitted(memberId, account, roles, kycHash, groupId);
        if (kycHash != bytes32(0)) _kyc[memberId] = kycHash;
        if (groupId != 0) _group[memberId] = groupId;
        if (creditLimit != 0) {
            _credit[memberId].creditLimit = creditLimit;
            emit CreditLimitSet(memberId, creditLimit);
        }
    }

    /// @inheritdoc IMemberRegistry
    function suspend(uint32 memberId) external onlyOperator {
        Core storage c = _existing(memberId);
        if (c.status != Status.Active) revert MemberNotActive(c.account, c.status);
        c.status = Status.Suspended;
        emit MemberSuspended(memberId);
    }

    /// @inheritdoc IMemberRegistry
    function reinstate(uint32 memberId) external onlyOperator {
        Core storage c = _existing(memberId);
        if (c.status != Status.Suspended) revert MemberNotSuspended(memberId);
        c.status = Status.Active;
        emit MemberReinstated(memberId);
    }

    /// @inheritdoc IMemberRegistry
    function setRoles(uint32 memberId, uint8 roles) external onlyOperator {
        if (roles == 0 || roles > Roles.ALL) revert InvalidRoles(roles);
        _existing(memberId).roles = roles;
        emit MemberRolesChanged(memberId, roles);
    }

    /// @inheritdoc IMemberRegistry
    function setKycHash(uint32 memberId, bytes32 kycHash) external onlyOperator {
        _existing(memberId);
        _kyc[memberId] = kycHash;
        emit MemberKycUpdated(memberId, kycHash);
    }

    /// @inheritdoc IMemberRegistry
    function setGroup(uint32 memberId, uint64 groupId) external onlyOperator {
        _existing(memberId);
        _group[memberId] = groupId;
        emit MemberGroupChanged(memberId, groupId);
    }

    /// @inheritdoc IMemberRegistry
    function setCreditLimit(uint32 memberId, uint128 creditLimit) external onlyOperator {
        _existing(memberId);
        _credit[memberId].creditLimit = creditLimit;
        emit CreditLimitSet(memberId, creditLimit);
    }

    /// @inheritdoc IMemberRegistry
    function rotateAccount(uint32 memberId, address newAccount) external onlyOperator {
        if (newAccount == address(0)) revert ZeroAddress();
        Core storage c = _existing(memberId);
        if (c.rotating) revert MemberRotating(memberId);
        uint32 existing = _idOf[newAccount];
        if (existing != 0) revert AccountAlreadyRegistered(newAccount, existing);
        address old = c.account;
        delete _idOf[old];
        _formerIdOf[old] = memberId;
        _idOf[newAccount] = memberId;
        c.account = newAccount;
        uint32 rotationId = ++_rotationCount;
        _rotation[memberId] = Rotation(old, rotationId);
        c.rotating = true;
        emit MemberAccountRotated(memberId, old, newAccount);
        (address ledger,) = _pendingLedger(memberId);
        if (ledger == address(0)) {
            c.rotating = false;
            emit RotationFinished(memberId, rotationId);
        }
    }

    /// @inheritdoc IMemberRegistry
    function finishRotation(uint32 memberId) external onlyOperator {
        Core storage c = _existing(memberId);
        if (!c.rotating) revert MemberNotRotating(memberId);
        (address ledger, uint256 pending) = _pendingLedger(memberId);
        if (ledger != address(0)) revert RotationIncomplete(memberId, ledger, pending);
        c.rotating = false;
        emit RotationFinished(memberId, _rotation[memberId].id);
    }

    /// @inheritdoc IMemberRegistry
    function clearDefaultBlock(uint32 memberId) external onlyOperator {
        Core storage c = _existing(memberId);
        if (!c.issuanceBlocked) revert NotBlocked(memberId);
        c.issuanceBlocked = false;
        emit DefaultBlockCleared(memberId);
    }

    /// @inheritdoc IMemberRegistry
    function setBlockIssuanceOnDefault(bool enabled) external onlyOperator {
        _blockIssuanceOnDefault = enabled;
        emit BlockIssuanceOnDefaultSet(enabled);
    }

    /// @inheritdoc IMemberRegistry
    function setLedgerContract(address account, bool enabled) external onlyOperator {
        if (account == address(0)) revert ZeroAddress();
        _ledger[account] = enabled;
        if (enabled && !_listed[account]) {
            _listed[account] = true;
            _ledgerList.push(account);
        }
        emit LedgerContractSet(account, enabled);
    }

    // ------------------------------------------------------------------ ledger hooks

    /// @inheritdoc IMemberRegistry
    function increaseOutstanding(uint32 obligorId, uint128 amount) external onlyLedger {
        Core storage c = _existing(obligorId);
        if (c.issuanceBlocked && _blockIssuanceOnDefault) revert IssuanceBlockedByDefault(obligorId, c.defaultCount);
        Credit storage cr = _credit[obligorId];
        uint256 next = uint256(cr.outstanding) + amount;
        if (next > cr.creditLimit) revert CreditLimitExceeded(obligorId, cr.outstanding, amount, cr.creditLimit);
        cr.outstanding = uint128(next);
        emit OutstandingChanged(obligorId, uint128(next));
    }

    /// @inheritdoc IMemberRegistry
    function decreaseOutstanding(uint32 obligorId, uint128 amount) external onlyLedger {
        _existing(obligorId);
        Credit storage cr = _credit[obligorId];
        if (amount > cr.outstanding) revert OutstandingUnderflow(obligorId, cr.outstanding, amount);
        uint128 next = cr.outstanding - amount;
        cr.outstanding = next;
        emit OutstandingChanged(obligorId, next);
    }

    /// @inheritdoc IMemberRegistry
    function recordDefault(uint32 obligorId, uint128 unpaidFaceValue) external onlyLedger {
        Core storage c = _existing(obligorId);
        uint32 count = c.defaultCount + 1;
        c.defaultCount = count;
        bool blocked = c.issuanceBlocked || _blockIssuanceOnDefault;
        c.issuanceBlocked = blocked;
        emit DefaultRecorded(obligorId, count, blocked, unpaidFaceValue);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IMemberRegistry
    function isOperator(address account) external view returns (bool) {
        return hasRole(OPERATOR_ROLE, account);
    }

    /// @inheritdoc IMemberRegistry
    function isLedgerContract(address account) external view returns (bool) {
        return _ledger[account];
    }

    /// @inheritdoc IMemberRegistry
    function requireActive(address account, uint8 roleMask) external view returns (uint32 memberId) {
        memberId = _idOf[account];
        if (memberId == 0) revert NotAMember(account);
        Core storage c = _core[memberId];
        if (c.status != Status.Active) revert MemberNotActive(account, c.status);
        if (c.roles & roleMask == 0) revert MissingRole(account, roleMask, c.roles);
        if (c.rotating) revert MemberRotating(memberId);
    }

    /// @inheritdoc IMemberRegistry
    function requireActiveId(uint32 memberId, uint8 roleMask) external view returns (address account) {
        Core storage c = _existing(memberId);
        account = c.account;
        if (c.status != Status.Active) revert MemberNotActive(account, c.status);
        if (c.roles & roleMask == 0) revert MissingRole(account, roleMask, c.roles);
        if (c.rotating) revert MemberRotating(memberId);
    }

    /// @inheritdoc IMemberRegistry
    function isActive(address account, uint8 roleMask) external view returns (bool) {
        uint32 id = _idOf[account];
        if (id == 0) return false;
        Core storage c = _core[id];
        return c.status == Status.Active && c.roles & roleMask != 0 && !c.rotating;
    }

    /// @inheritdoc IMemberRegistry
    function memberIdOf(address account) external view returns (uint32) {
        return _idOf[account];
    }

    /// @inheritdoc IMemberRegistry
    function accountOf(uint32 memberId) external view returns (address) {
        return _core[memberId].account;
    }

    /// @inheritdoc IMemberRegistry
    function member(uint32 memberId) external view returns (Member memory m) {
        Core storage c = _existing(memberId);
        Credit storage cr = _credit[memberId];
        m = Member(
            c.account,
            c.roles,
            c.status,
            c.defaultCount,
            c.issuanceBlocked,
            _group[memberId],
            cr.creditLimit,
            cr.outstanding,
            _kyc[memberId]
        );
    }

    /// @inheritdoc IMemberRegistry
    function formerMemberIdOf(address account) external view returns (uint32) {
        return _formerIdOf[account];
    }

    /// @inheritdoc IMemberRegistry
    function memberCount() external view returns (uint32) {
        return _count;
    }

    /// @inheritdoc IMemberRegistry
    function blockIssuanceOnDefault() external view returns (bool) {
        return _blockIssuanceOnDefault;
    }

    /// @inheritdoc IMemberRegistry
    function rotationOf(uint32 memberId) external view returns (uint32 rotationId, address previous, bool rotating) {
        Rotation memory r = _rotation[memberId];
        return (r.id, r.previous, _core[memberId].rotating);
    }

    /// @dev The first enabled ledger contract that reports rotation transfers still to emit for the member
    ///      (contracts without `rotationPending` hold no member tokens and are skipped).
    function _pendingLedger(uint32 memberId) private view returns (address ledger, uint256 pending) {
        uint256 count = _ledgerList.length;
        for (uint256 i; i < count; ++i) {
            address candidate = _ledgerList[i];
            if (!_ledger[candidate] || candidate.code.length == 0) continue;
            (bool ok, bytes memory out) =
                candidate.staticcall(abi.encodeCall(IMemberHoldings.rotationPending, (memberId)));
            if (!ok || out.length != 32) continue;
            pending = abi.decode(out, (uint256));
            if (pending != 0) return (candidate, pending);
        }
        return (address(0), 0);
    }

    function _existing(uint32 memberId) private view returns (Core storage c) {
        c = _core[memberId];
        if (c.account == address(0)) revert UnknownMember(memberId);
    }
}
